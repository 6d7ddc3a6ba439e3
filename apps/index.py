"""All radlab pages behind one index: `python apps/index.py` (the same as `radlab serve`)."""

from radlab.ui import serve

if __name__ == "__main__":
    serve()
