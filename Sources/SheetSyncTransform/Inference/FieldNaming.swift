import Foundation
import SheetSyncCore

/// Turns JSON member names into worksheet field and worksheet names.
///
/// Names are snake_case (`customerEmail` → `customer_email`, `Zip Code` → `zip_code`);
/// anything but ASCII letters and digits becomes `_`, runs of `_` collapse, and `_` at
/// either end goes (a leading `_` is reserved for sheetsync's system columns, so Mongo's
/// `_id` is `id`). Accents are dropped first (`Straße_Nr` → `strasse_nr`, `Über` → `uber`). A name that would start with a digit gets `f_` in front; one left empty
/// is `field`. The JSON path keeps the member's real name (`$['Zip Code']`).
public enum FieldNaming {
    /// The snake_case form of one member name.
    public static func snakeCase(_ member: String) -> String {
        var out = ""
        let characters = Array(member.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: nil)
            .replacingOccurrences(of: "ß", with: "ss"))
        for (index, character) in characters.enumerated() {
            if character.isASCII, character.isLetter || character.isNumber {
                // A capital starts a word after a lower-case letter or digit (customerEmail),
                // and before a lower-case letter after capitals (HTTPStatus → http_status).
                if character.isUppercase, index > 0 {
                    let previous = characters[index - 1]
                    let next = index + 1 < characters.count ? characters[index + 1] : nil
                    if previous.isLowercase || previous.isNumber || (previous.isUppercase && next?.isLowercase == true) {
                        out.append("_")
                    }
                }
                out.append(Character(character.lowercased()))
            } else {
                out.append("_")
            }
        }
        let words = out.split(separator: "_", omittingEmptySubsequences: true)
        return words.joined(separator: "_")
    }

    /// A valid name made of `parts` (member names along a path), joined with `_`.
    public static func name(_ parts: [String]) -> String {
        var name = parts.map(snakeCase).filter { !$0.isEmpty }.joined(separator: "_")
        if name.isEmpty { name = "field" }
        if let first = name.unicodeScalars.first, ("0"..."9").contains(first) { name = "f_" + name }
        return name
    }

    /// `name`, or `name_2`, `name_3`… when `taken` has it; the result is added to `taken`.
    public static func unique(_ name: String, in taken: inout Set<String>) -> String {
        var candidate = name
        var number = 2
        while taken.contains(candidate) {
            candidate = "\(name)_\(number)"
            number += 1
        }
        taken.insert(candidate)
        return candidate
    }

    /// The singular of a plural name, well enough for a link field's prefix:
    /// `orders` → `order`, `categories` → `category`, `addresses` → `address`.
    public static func singular(_ name: String) -> String {
        if name.hasSuffix("ies"), name.count > 3 { return String(name.dropLast(3)) + "y" }
        if name.hasSuffix("sses") || name.hasSuffix("xes") || name.hasSuffix("ches") || name.hasSuffix("shes") { return String(name.dropLast(2)) }
        if name.hasSuffix("s"), !name.hasSuffix("ss"), name.count > 1 { return String(name.dropLast()) }
        return name
    }
}
