import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An S3 XML response as a small element tree (S3's documents are shallow and small: a
/// listing page is at most 1,000 entries).
struct S3XML: Sendable {
    var name: String
    var text: String
    var children: [S3XML]

    func all(_ name: String) -> [S3XML] { children.filter { $0.name == name } }
    func first(_ name: String) -> S3XML? { children.first { $0.name == name } }
    subscript(_ name: String) -> String? { first(name)?.text }

    static func parse(_ bytes: [UInt8]) -> S3XML? {
        let builder = Builder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }

    private final class Builder: NSObject, XMLParserDelegate {
        var stack: [S3XML] = []
        var root: S3XML?

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            stack.append(S3XML(name: elementName, text: "", children: []))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let done = stack.popLast() else { return }
            if stack.isEmpty { root = done } else { stack[stack.count - 1].children.append(done) }
        }
    }

    /// Text escaped for an XML element body (keys in DeleteObjects requests).
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
