#!/bin/sh
# ternd in Tern's image: run node with NET_ADMIN and NET_BIND_SERVICE as file capabilities when
# the container may have them (its bounding set holds both: capability bits 12 and 10), else
# plain node. exec, so that ternd is PID 1 and gets SIGTERM directly.
bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ -n "$bnd" ] && [ $(( (0x$bnd >> 12) & 1 )) = 1 ] && [ $(( (0x$bnd >> 10) & 1 )) = 1 ]; then
  exec /opt/tern/bin/node-net /opt/tern/dist/src/ternd.js "$@"
fi
exec node /opt/tern/dist/src/ternd.js "$@"
