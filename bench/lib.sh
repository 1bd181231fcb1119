# Shared by the bench scripts (sourced): a free loopback port, and nginx
# (nginx-light) in the foreground with its own config, pid, logs and temp paths
# under $WORK/nginx, answering `return 200 "ok"` on every path, stopped (and $WORK
# removed) when the script exits.

# Exits 2 naming the first of its arguments that is not installed.
require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_nginx WORK PORT [CPU]: CPU pins nginx with taskset. Optional settings:
#   NGINX_LISTEN       extra `listen` parameters ("http2", "backlog=16384")
#   NGINX_CONNECTIONS  worker_connections (default 4096)
#   NGINX_TOP          extra top-level lines (e.g. "worker_rlimit_nofile 20000;")
#   NGINX_HTTP         extra lines in the http block
#   NGINX_SERVER       extra lines in the server block (locations)
# Sets NGINX_PID; returns once the port accepts connections.
start_nginx() {
  local work=$1 port=$2 cpu=${3:-}
  mkdir -p "$work/nginx/logs"
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
${NGINX_TOP:-}
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections ${NGINX_CONNECTIONS:-4096}; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  ${NGINX_HTTP:-}
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$port ${NGINX_LISTEN:-};
    location / { return 200 "ok"; }
    ${NGINX_SERVER:-}
  }
}
CONF
  if [ -n "$cpu" ]; then
    taskset -c "$cpu" "${NGINX:-/usr/sbin/nginx}" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  else
    "${NGINX:-/usr/sbin/nginx}" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
  fi
  NGINX_PID=$!
  # shellcheck disable=SC2064  # expand now: the trap must stop this nginx
  trap "kill $NGINX_PID 2>/dev/null; wait $NGINX_PID 2>/dev/null; rm -rf '$work'" EXIT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nginx did not start on port $port; see $work/nginx/logs/error.log" >&2
  return 1
}
