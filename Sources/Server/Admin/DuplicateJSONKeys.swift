import Foundation

/// Finds an object key given twice in a JSON document. JSONDecoder keeps one of them
/// silently; for an admin request that is ambiguity about what was asked (which
/// `password`, which `disabled`), so such a body is refused instead.
enum DuplicateJSONKeys {
    /// The first key repeated within one object, or nil. Assumes nothing about validity:
    /// malformed input is left for the decoder to reject.
    static func first(in bytes: [UInt8]) -> String? {
        var objects: [Set<String>?] = []  // one entry per open container; nil for arrays
        var expectingKey = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "{"):
                objects.append([])
                expectingKey = true
            case UInt8(ascii: "["):
                objects.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !objects.isEmpty { objects.removeLast() }
                expectingKey = false
            case UInt8(ascii: ","):
                expectingKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: "\""):
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                if expectingKey, index < bytes.count, var keys = objects.last, keys != nil {
                    let key = decode(Array(bytes[start...index]))
                    if keys!.contains(key) { return key }
                    keys!.insert(key)
                    objects[objects.count - 1] = keys
                    expectingKey = false
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }

    /// A JSON string literal's value (escapes applied), so `"a"` and `"\u0061"` are one key.
    private static func decode(_ literal: [UInt8]) -> String {
        guard literal.contains(UInt8(ascii: "\\")) else { return String(decoding: literal.dropFirst().dropLast(), as: UTF8.self) }
        return (try? JSONDecoder().decode(String.self, from: Data(literal))) ?? String(decoding: literal, as: UTF8.self)
    }
}
