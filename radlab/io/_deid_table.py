"""The attributes of DICOM PS3.15 Table E.1-1 (Application Level Confidentiality Profile Attributes) that radlab
acts on, with the action of the Basic Profile and of the four options a radiomics study uses.

Actions (PS3.15 E.1.1): ``X`` remove, ``Z`` empty (or a dummy: radlab writes the pseudonym into PatientName and
PatientID), ``D`` a dummy value, ``K`` keep, ``C`` clean (dates shifted; descriptors cleaned of identifiers),
``U`` a new UID (the same new UID wherever the old one appears).

The table lists the Table E.1-1 rows found in CT, MR, PET, RTSTRUCT and SEG objects; it is not the whole of
Table E.1-1. Three rules cover the rest of a dataset (:mod:`radlab.io._deid`): every other person name (VR PN) is
removed, every other UID (VR UI) outside the DICOM root 1.2.840.10008 is replaced, every other date or date-time
(VR DA/DT) is shifted or removed; private attributes and overlays (groups 60xx) are removed.
"""

from __future__ import annotations

__all__ = ["OPTIONS", "TABLE"]

# option -> column of TABLE (after the basic action)
OPTIONS = ("retain_device", "retain_patient", "modified_dates", "clean_descriptors")

_ = None  # the option does not change the basic action
# keyword: (basic, retain device identity, retain patient characteristics, modified dates, clean descriptors)
TABLE: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    # patient
    "PatientName": ("Z", _, _, _, _),
    "PatientID": ("Z", _, _, _, _),
    "IssuerOfPatientID": ("X", _, _, _, _),
    "PatientBirthDate": ("Z", _, _, _, _),
    "PatientBirthTime": ("X", _, _, _, _),
    "PatientSex": ("Z", _, "K", _, _),
    "PatientAge": ("X", _, "K", _, _),
    "PatientSize": ("X", _, "K", _, _),
    "PatientWeight": ("X", _, "K", _, _),
    "EthnicGroup": ("X", _, "K", _, _),
    "PatientSexNeutered": ("X", _, "K", _, _),
    "SmokingStatus": ("X", _, "K", _, _),
    "PregnancyStatus": ("X", _, "K", _, _),
    "AdditionalPatientHistory": ("X", _, "C", _, _),
    "PatientComments": ("X", _, _, _, "C"),
    "OtherPatientIDs": ("X", _, _, _, _),
    "OtherPatientIDsSequence": ("X", _, _, _, _),
    "OtherPatientNames": ("X", _, _, _, _),
    "PatientBirthName": ("X", _, _, _, _),
    "PatientMotherBirthName": ("X", _, _, _, _),
    "PatientAddress": ("X", _, _, _, _),
    "PatientTelephoneNumbers": ("X", _, _, _, _),
    "MilitaryRank": ("X", _, _, _, _),
    "BranchOfService": ("X", _, _, _, _),
    "MedicalRecordLocator": ("X", _, _, _, _),
    "CountryOfResidence": ("X", _, _, _, _),
    "RegionOfResidence": ("X", _, _, _, _),
    "Occupation": ("X", _, _, _, "C"),
    "PatientReligiousPreference": ("X", _, _, _, _),
    "ResponsiblePerson": ("X", _, _, _, _),
    "ReferencedPatientSequence": ("X", _, _, _, _),
    # study, series, instance
    "StudyInstanceUID": ("U", _, _, _, _),
    "SeriesInstanceUID": ("U", _, _, _, _),
    "SOPInstanceUID": ("U", _, _, _, _),
    "FrameOfReferenceUID": ("U", _, _, _, _),
    "ReferencedSOPInstanceUID": ("U", _, _, _, _),
    "ReferencedFrameOfReferenceUID": ("U", _, _, _, _),
    "StudyDate": ("Z", _, _, "C", _),
    "StudyTime": ("Z", _, _, "C", _),
    "SeriesDate": ("X", _, _, "C", _),
    "SeriesTime": ("X", _, _, "C", _),
    "AcquisitionDate": ("X", _, _, "C", _),
    "AcquisitionTime": ("X", _, _, "C", _),
    "AcquisitionDateTime": ("X", _, _, "C", _),
    "ContentDate": ("Z", _, _, "C", _),
    "ContentTime": ("Z", _, _, "C", _),
    "InstanceCreationDate": ("X", _, _, "C", _),
    "InstanceCreationTime": ("X", _, _, "C", _),
    "StructureSetDate": ("X", _, _, "C", _),
    "StructureSetTime": ("X", _, _, "C", _),
    "AccessionNumber": ("Z", _, _, _, _),
    "StudyID": ("Z", _, _, _, _),
    "ReferringPhysicianName": ("Z", _, _, _, _),
    "PerformingPhysicianName": ("X", _, _, _, _),
    "OperatorsName": ("X", _, _, _, _),
    "NameOfPhysiciansReadingStudy": ("X", _, _, _, _),
    "PhysiciansOfRecord": ("X", _, _, _, _),
    "RequestingPhysician": ("X", _, _, _, _),
    "ContentCreatorName": ("Z", _, _, _, _),
    "ROIInterpreter": ("Z", _, _, _, _),
    "InstitutionName": ("X", _, _, _, _),
    "InstitutionAddress": ("X", _, _, _, _),
    "InstitutionalDepartmentName": ("X", _, _, _, _),
    "ReferencedStudySequence": ("X", _, _, _, _),
    "ReferencedPerformedProcedureStepSequence": ("X", _, _, _, _),
    "RequestAttributesSequence": ("X", _, _, _, _),
    "ReasonForStudy": ("X", _, _, _, "C"),
    # device
    "StationName": ("X", "K", _, _, _),
    "DeviceSerialNumber": ("X", "K", _, _, _),
    "DeviceUID": ("U", "K", _, _, _),
    "DetectorID": ("X", "K", _, _, _),
    "GantryID": ("X", "K", _, _, _),
    "PlateID": ("X", "K", _, _, _),
    "SoftwareVersions": ("X", "K", _, _, _),
    "DateOfLastCalibration": ("X", "K", _, _, _),
    "TimeOfLastCalibration": ("X", "K", _, _, _),
    # descriptors
    "StudyDescription": ("X", _, _, _, "C"),
    "SeriesDescription": ("X", _, _, _, "C"),
    "ProtocolName": ("X", _, _, _, "C"),
    "ImageComments": ("X", _, _, _, "C"),
    "RequestedProcedureDescription": ("X", _, _, _, "C"),
    "PerformedProcedureStepDescription": ("X", _, _, _, "C"),
    "AdmittingDiagnosesDescription": ("X", _, _, _, "C"),
    "DerivationDescription": ("X", _, _, _, "C"),
    "AcquisitionComments": ("X", _, _, _, "C"),
    "ContrastBolusAgent": ("D", _, _, _, "C"),
    "StructureSetLabel": ("D", _, _, _, "C"),
    "StructureSetName": ("X", _, _, _, "C"),
    "StructureSetDescription": ("X", _, _, _, "C"),
    "ROIDescription": ("X", _, _, _, "C"),
    "ROIGenerationDescription": ("X", _, _, _, "C"),
    "SegmentDescription": ("X", _, _, _, "C"),
}
