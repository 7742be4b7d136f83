#!/bin/sh
# Run "$@" with an unlocked gnome-keyring serving the Secret Service API on the session bus.
# Start it as `dbus-run-session -- sh in_keyring_session.sh COMMAND...`, with HOME and the XDG_*
# directories pointing at a scratch directory: the keyring files land there. The daemon exits
# when dbus-run-session ends the session.
set -eu
eval "$(printf '%s' "${KEYRING_UNLOCK_PASSWORD:-session-password}" \
    | gnome-keyring-daemon --unlock --components=secrets)"
exec "$@"
