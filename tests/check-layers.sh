#!/bin/sh
# check-layers.sh: the layering rules of STYLE.md, checked on every build.
#   only sql/ includes <mysql.h>; only fcgi/ includes <fcgiapp.h> and
#   <cJSON.h>; loyalty/ never includes catalog/ or fcgi/ headers; catalog/
#   never includes fcgi/ headers.
top=${top_srcdir:-$(dirname "$0")/..}
fail=0
bad() { echo "layering violation: $1"; fail=1; }

for f in $(grep -rlE '#include <(mysql|mysqld_error|errmsg)\.h>' "$top"/fcgi "$top"/loyalty "$top"/catalog "$top"/tests 2>/dev/null); do
	case "$f" in */tests/bench/*) ;; *) bad "$f includes <mysql.h> (only sql/ may)";; esac
done
for f in $(grep -rlE '#include <(fcgiapp|fcgi_stdio|cJSON)\.h>' "$top"/sql "$top"/loyalty "$top"/catalog 2>/dev/null); do
	bad "$f includes libfcgi or cJSON (only fcgi/ may)"
done
for f in $(grep -rlE '#include "(catalog|fcgi)/' "$top"/loyalty "$top"/sql 2>/dev/null); do
	bad "$f includes a higher layer"
done
for f in $(grep -rlE '#include "fcgi/' "$top"/catalog 2>/dev/null); do
	bad "$f includes fcgi/ from catalog/"
done
# the check must see the code it guards
[ -f "$top/sql/db.c" ] && grep -q '<mysql.h>' "$top/sql/db.c" || bad "sql/db.c not found or no longer includes <mysql.h>"
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
