#include <sqlite3.h>
#include "sheetsync_sqlite.h"

int sheetsync_sqlite_configure(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
