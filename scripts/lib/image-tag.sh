# Sourced by the image scripts. image_tag NAME FILE...: the tag of an image built from FILE...
# (its recipe and the pinned sets it installs), so that an image is rebuilt whenever what goes
# into it changes. DWO_IMAGE_SALT, when set, goes into every tag: `DWO_IMAGE_SALT=$(date +%s)
# make test` builds every image afresh under new tags, as on a machine that has none cached
# (docs/testing.md, "As CI on a fresh machine"); the images already there are left alone.
image_tag() {
  local name="$1"; shift
  local sum
  sum=$( { cat "$@"; printf '%s' "${DWO_IMAGE_SALT:-}"; } | sha256sum | cut -c1-12)
  echo "localhost/dicomweb-oauth/$name:$sum"
}

# alias_current TAG: also names the image NAME:current, the name the molecule scenarios use, so
# that they run on the image the last build script call made or found (a salted one included).
alias_current() {
  podman tag "$1" "${1%:*}:current" >&2
}
