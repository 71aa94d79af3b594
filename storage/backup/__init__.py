"""`inkweave backup` / `inkweave restore`: one engine-independent archive of everything.

`archive` is the file format, `codec` how values and update logs are written in it, `tables` the
relational rows, `run` the backup and the restore across every store.
"""
