#!/usr/bin/env bash
# Print the path of a working Python 3.10 interpreter, or explain and fail.
# rasa 3.6 does not install on Python 3.11+, so nothing else will do.
set -u
candidates=(python3.10)
if command -v pyenv >/dev/null 2>&1; then
  for dir in "$(pyenv root)"/versions/3.10*/bin; do candidates+=("$dir/python3.10"); done
fi
candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)
for py in "${candidates[@]}"; do
  if "$py" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
    command -v "$py" 2>/dev/null || echo "$py"
    exit 0
  fi
done
echo "Python 3.10 is required (rasa 3.6 does not run on 3.11+) and none was found." >&2
echo "Install it (e.g. 'apt-get install python3.10' or 'pyenv install 3.10') and run make again." >&2
exit 1
