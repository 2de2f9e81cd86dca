#!/bin/sh
# check-layers.sh: the layering rules of STYLE.md, checked on every build.
#   sql/ -> loyalty/ -> catalog/ -> { fcgi/, cli/ }: a folder includes only
#   headers of the folders before it. fcgi/ (perkd, the HTTP layer) and cli/
#   (perkctl, the operator's tool) are two top layers that never include
#   each other. Only sql/ includes <mysql.h>; only fcgi/ includes
#   <fcgiapp.h>; only the two top layers include <cJSON.h>.
top=${top_srcdir:-$(dirname "$0")/..}
fail=0
bad() { echo "layering violation: $1"; fail=1; }

for f in $(grep -rlE '#include <(mysql|mysqld_error|errmsg)\.h>' "$top"/fcgi "$top"/cli "$top"/loyalty "$top"/catalog "$top"/tests 2>/dev/null); do
	case "$f" in */tests/bench/*) ;; *) bad "$f includes <mysql.h> (only sql/ may)";; esac
done
for f in $(grep -rlE '#include <(fcgiapp|fcgi_stdio)\.h>' "$top"/sql "$top"/loyalty "$top"/catalog "$top"/cli 2>/dev/null); do
	bad "$f includes libfcgi (only fcgi/ may)"
done
for f in $(grep -rlE '#include <cJSON\.h>' "$top"/sql "$top"/loyalty "$top"/catalog 2>/dev/null); do
	bad "$f includes cJSON (only fcgi/ and cli/ may)"
done
for f in $(grep -rlE '#include "(catalog|fcgi|cli)/' "$top"/loyalty "$top"/sql 2>/dev/null); do
	bad "$f includes a higher layer"
done
for f in $(grep -rlE '#include "(fcgi|cli)/' "$top"/catalog 2>/dev/null); do
	bad "$f includes fcgi/ or cli/ from catalog/"
done
for f in $(grep -rlE '#include "cli/' "$top"/fcgi 2>/dev/null); do
	bad "$f includes cli/ from fcgi/ (the two top layers are independent)"
done
for f in $(grep -rlE '#include "fcgi/' "$top"/cli 2>/dev/null); do
	bad "$f includes fcgi/ from cli/ (the two top layers are independent)"
done
# the check must see the code it guards
[ -f "$top/sql/db.c" ] && grep -q '<mysql.h>' "$top/sql/db.c" || bad "sql/db.c not found or no longer includes <mysql.h>"
[ -f "$top/cli/perkctl.c" ] || bad "cli/perkctl.c not found"
[ $fail -eq 0 ] && echo "layering: ok"
exit $fail
