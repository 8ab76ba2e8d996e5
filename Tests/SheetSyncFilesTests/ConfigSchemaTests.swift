import Testing
import SheetSyncCore
@testable import SheetSyncFiles

/// The editors' JSON Schemas come from the loader's own key lists: a key the loader accepts
/// without a type in `ConfigSchema` (or a type for a key it refuses) shows here.
struct ConfigSchemaTests {
    @Test func everyKeyTheLoaderAcceptsHasAType() {
        #expect(ConfigSchema.missingTypes.isEmpty, "\(ConfigSchema.missingTypes)")
    }

    @Test func theJobSchemaListsTheLoadersKeysForEachKind() throws {
        guard case .object(let root) = ConfigSchema.schema(.job), case .object(let properties)? = root["properties"] else {
            Issue.record("no properties")
            return
        }
        #expect(Set(properties.members.map(\.key)) == Set(JobFileDecoder.pullKeys + JobFileDecoder.pushKeys))
        let text = ConfigSchema.text(.job)
        #expect(text.contains(#""const": "pull""#) && text.contains(#""const": "push""#))
        #expect(try JSONReader.parse(text) == ConfigSchema.schema(.job))
    }
}
