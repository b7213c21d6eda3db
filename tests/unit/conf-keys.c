/* conf-keys: print the key table that conf_load walks (lib/conf.c), one
 * key a line: SECTION, KEY, TYPE (or a choice's values), DEFAULT (- when
 * none) and its doc, tab-separated. tests/integration/docs.sh compares
 * it with hookpipe.ini(5). */
#include "config.h"

#include <stdio.h>

#include "conf.h"

int
main(void)
{
	struct conf_keydoc	kd;
	size_t			n, i;

	for (n = 0; conf_key_doc(n, &kd) == 0; n++) {
		printf("%s\t%s\t", kd.section, kd.key);
		if (kd.values != NULL)
			for (i = 0; kd.values[i] != NULL; i++)
				printf("%s%s", i > 0 ? " | " : "",
				    kd.values[i]);
		else
			printf("%s", kd.type);
		printf("\t%s\t%s\n", kd.def != NULL ? kd.def : "-", kd.doc);
	}
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
