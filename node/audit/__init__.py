"""The append-only audit trail: who did what, and every DICOM association accepted or refused."""
