import Testing
@testable import SheetSyncCore

/// Incremental cursors compare in the type of the field mapped from the cursor's path
/// (issue 15, item 2): instants, numbers, text; a value not of the type sorts first.
struct CursorOrderTests {
    @Test(arguments: [
        (FieldType.datetime, "2024-01-01T12:00:00+02:00", "2024-01-01T11:00:00Z", true),
        (.datetime, "garbage-date", "2000-01-01", true),
        (.datetime, "2999-01-01", "garbage-date", false),
        (.datetime, "1700000000", "2024-01-01T00:00:00Z", true),
        (.date, "2024-01-09", "2024-01-10", true),
        (.integer, "9", "10", true),
        (.decimal, "-1.5", "-1.25", true),
        (.number, "1e3", "999", false),
        (.text, "9", "10", false),
        (.text, "b", "a", false),
    ])
    func cursorValuesCompareInTheFieldsType(_ type: FieldType, _ a: String, _ b: String, _ less: Bool) {
        #expect(CursorValue.isLess(a, b, as: type) == less)
        #expect(CursorValue.max(a, b, as: type) == (less ? b : a))
    }
}
