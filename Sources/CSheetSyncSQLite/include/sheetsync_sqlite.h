#ifndef SHEETSYNC_SQLITE_H
#define SHEETSYNC_SQLITE_H

/// Process-wide SQLite settings that only C can make (`sqlite3_config` is variadic):
/// no global memory statistics, whose mutex every SQLite allocation took (issue 17's
/// profile of a first load: about 5% of the writing thread). Must run before SQLite
/// initializes, that is before the first database is opened; returns SQLite's result
/// code (SQLITE_MISUSE when it is too late, which changes nothing).
int sheetsync_sqlite_configure(void);

#endif
