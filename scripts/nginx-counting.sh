# Sourced by scripts/container-test.sh and scripts/netns-rehearsal.sh: an nginx
# whose access log is the count a test compares horde's with.
# counting_nginx_conf DIR LISTEN writes DIR/nginx.conf: one worker, `ok` on every
# path, a log line per request ('$remote_addr "$request" $status') in
# DIR/access.log, except /__ready (the readiness probe, not logged).
counting_nginx_conf() {
  local dir=$1 listen=$2
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
  log_format horde '\$remote_addr "\$request" \$status';
  access_log $dir/access.log horde;
  client_body_temp_path $dir;
  proxy_temp_path $dir;
  fastcgi_temp_path $dir;
  uwsgi_temp_path $dir;
  scgi_temp_path $dir;
  keepalive_requests 1000000;
  server {
    listen $listen;
    location = /__ready { access_log off; return 200 "ready\n"; }
    location / { return 200 "ok\n"; }
  }
}
CONF
}
