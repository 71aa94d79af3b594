#!/usr/bin/env bash
# The native backup route for a production deployment: MySQL/MariaDB with mysqldump (one
# consistent transaction, binlog position recorded for point-in-time recovery) and MongoDB with
# `mongodump --oplog`, into one dated folder per run; folders older than RETENTION_DAYS go.
#
# Reads the settings the server reads:
#   INKWEAVE_DATABASE_URL   mysql+asyncmy://USER:PASSWORD@HOST:PORT/DATABASE (required)
#   INKWEAVE_MONGO_URL      mongodb://... of a replica set (optional: no Mongo dump without it)
#   INKWEAVE_MONGO_DATABASE database name (default: inkweave)
# and its own:
#   BACKUP_DIR              where the dated folders go (default: /var/backups/inkweave)
#   RETENTION_DAYS          how long a folder is kept (default: 30)
#
# Point-in-time recovery needs the binlog on (log_bin, binlog_format=ROW) and kept as long as the
# dumps (binlog_expire_logs_seconds=2592000 or expire_logs_days=30). Restore: load the newest
# dump, then replay the binlog from the position written at its top (mysqlbinlog
# --start-position=... | mysql), and `mongorestore --oplogReplay` the Mongo dump.
# Blobs in S3 are not copied here: turn on bucket versioning, or mirror with `aws s3 sync`.
set -euo pipefail

: "${INKWEAVE_DATABASE_URL:?set INKWEAVE_DATABASE_URL (mysql+asyncmy://user:password@host/db)}"
BACKUP_DIR="${BACKUP_DIR:-/var/backups/inkweave}"
RETENTION_DAYS="${RETENTION_DAYS:-30}"
MONGO_DATABASE="${INKWEAVE_MONGO_DATABASE:-inkweave}"

# The URL's parts, percent-decoded, one a line: user, password, host, port, database.
# (A variable first: a failing command substitution stops the script, a `< <(...)` would not.)
parts="$(python3 - "$INKWEAVE_DATABASE_URL" <<'PY'
import sys
from urllib.parse import unquote, urlsplit
url = urlsplit(sys.argv[1])
if not url.scheme.startswith(("mysql", "mariadb")):
    sys.exit(f"native-backup.sh: INKWEAVE_DATABASE_URL is not MySQL/MariaDB ({url.scheme})")
for part in (url.username, url.password, url.hostname, url.port or 3306, url.path.lstrip("/")):
    print(unquote(str(part or "")))
PY
)"
mapfile -t DB <<<"$parts"

target="$BACKUP_DIR/$(date -u +%Y-%m-%dT%H%M%SZ)"
mkdir -p "$target"

# --single-transaction: one consistent InnoDB snapshot without locking writers.
# --master-data=2: the binlog file and position of that snapshot, as a comment at the top.
MYSQL_PWD="${DB[1]}" mysqldump --host="${DB[2]}" --port="${DB[3]}" --user="${DB[0]}" \
  --single-transaction --quick --routines --triggers --master-data=2 \
  --default-character-set=utf8mb4 "${DB[4]}" | gzip >"$target/mysql.sql.gz"

if [[ -n "${INKWEAVE_MONGO_URL:-}" ]]; then
  # --oplog needs a dump of the whole server (no --db): it makes the dump one point in time.
  mongodump --uri="$INKWEAVE_MONGO_URL" --oplog --gzip --out="$target/mongo" --quiet
  echo "$MONGO_DATABASE" >"$target/mongo/DATABASE"
fi

echo "backed up to $target"
find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -name '20*' -mtime +"$RETENTION_DAYS" \
  -exec rm -rf {} +
