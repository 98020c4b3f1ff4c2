import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: what the EC2, STS and S3 protocols answer with.
public struct XMLNode: Sendable {
    /// The element's local name (namespace prefixes dropped).
    public var name: String
    /// Its attributes.
    public var attributes: [String: String]
    /// Its child elements, in order.
    public var children: [XMLNode]
    /// Its text content (concatenated, trimmed of surrounding whitespace).
    public var text: String

    /// The first child with this name.
    public func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    /// All children with this name.
    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    /// The text of the first child with this name.
    public func string(_ name: String) -> String? { child(name)?.text }
    /// The first element with this name anywhere below (depth first).
    public func find(_ name: String) -> XMLNode? {
        for child in children {
            if child.name == name { return child }
            if let found = child.find(name) { return found }
        }
        return nil
    }
    /// The `<item>` children of the named child: how EC2 lists (`<instancesSet><item>…`).
    public func items(_ name: String) -> [XMLNode] { child(name)?.children("item") ?? [] }
    /// Same for S3 and STS lists, whose item element names vary.
    public func members(_ name: String, item: String = "member") -> [XMLNode] { child(name)?.children(item) ?? [] }

    /// Parses a document; nil when it is not well-formed XML.
    public static func parse(_ bytes: [UInt8]) -> XMLNode? {
        let builder = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.delegate = builder
        parser.shouldProcessNamespaces = false
        guard parser.parse(), let root = builder.root else { return nil }
        return root
    }
}

private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLNode] = []
    var root: XMLNode?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        let local = elementName.split(separator: ":").last.map(String.init) ?? elementName
        stack.append(XMLNode(name: local, attributes: attributes, children: [], text: ""))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard var node = stack.popLast() else { return }
        node.text = node.text.trimmingCharacters(in: .whitespacesAndNewlines)
        if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
    }
}

/// Builds small XML request bodies (S3 CreateBucket, lifecycle configuration) with escaping.
public struct XMLWriter {
    private(set) var text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

    /// Starts a writer.
    public init() {}

    /// Appends `<name attrs>…</name>` with `body` writing the contents.
    public mutating func element(_ name: String, attributes: [(String, String)] = [], _ body: (inout XMLWriter) -> Void) {
        text += "<\(name)" + attributes.map { " \($0.0)=\"\(XMLWriter.escape($0.1))\"" }.joined() + ">"
        body(&self)
        text += "</\(name)>"
    }

    /// Appends `<name>escaped value</name>`.
    public mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(XMLWriter.escape(value))</\(name)>"
    }

    /// The document's bytes.
    public var bytes: [UInt8] { Array(text.utf8) }

    /// XML-escapes text.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
