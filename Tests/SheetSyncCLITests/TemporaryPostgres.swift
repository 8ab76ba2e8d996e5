import SheetSyncTesting

// The throwaway PostgreSQL server and the two stores are test support shared with the
// runner suites (`SheetSyncTesting/TemporaryPostgres.swift`); this suite names them here
// only, so the rest of its files need not import the support module.
typealias TemporaryPostgres = SheetSyncTesting.TemporaryPostgres
typealias Backend = SheetSyncTesting.Backend
typealias PostgresUnavailable = SheetSyncTesting.PostgresUnavailable
