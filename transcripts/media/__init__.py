"""Media files: what an upload is (probe), how it arrives (upload handler,
size limits), how it is decoded for engines (audio) and served back (ranged
streaming), and where a job reads it from (storage)."""
