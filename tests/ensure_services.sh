#!/usr/bin/env bash
# Start each local service the tests need if it is not answering, then wait (bounded) for it.
set -euo pipefail

wait_for() {  # name, seconds, command...
  local name=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do
    if "$@" >/dev/null 2>&1; then echo "services: $name is up"; return 0; fi
    sleep 1
  done
  echo "services: $name did not come up within ${seconds}s" >&2
  return 1
}

mariadb_up() { mysqladmin --protocol=socket -uroot ping || mysqladmin -h127.0.0.1 -uroot ping; }

if ! mariadb_up >/dev/null 2>&1; then
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "services: installing MariaDB"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server
  fi
  echo "services: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
fi
wait_for MariaDB 120 mariadb_up

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }

if ! redis_up >/dev/null 2>&1; then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "services: installing Redis"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server
  fi
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for Redis 60 redis_up

# RabbitMQ: the Dramatiq broker tests run the same actors on it (guest/guest on 127.0.0.1:5672).
rabbitmq_up() { timeout 2 bash -c '</dev/tcp/127.0.0.1/5672'; }

if ! rabbitmq_up >/dev/null 2>&1; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    echo "services: installing RabbitMQ"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server
  fi
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
fi
wait_for RabbitMQ 180 rabbitmq_up
