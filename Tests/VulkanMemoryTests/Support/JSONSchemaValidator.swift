import Foundation

/// A JSON value as read from text, numbers kept apart as integers or not, so the schema's
/// `integer` can be checked (`JSONSerialization` gives `NSNumber`s that blur it).
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    /// Integers beyond `Int64` (byte counts near 2^64).
    case unsignedInteger(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(UInt64.self) { self = .unsignedInteger(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { members[key] } else { nil }
    }

    var objectValue: [String: JSONValue]? { if case .object(let v) = self { v } else { nil } }
    var arrayValue: [JSONValue]? { if case .array(let v) = self { v } else { nil } }
    var stringValue: String? { if case .string(let v) = self { v } else { nil } }
    var integerValue: Int64? {
        switch self {
        case .integer(let v): v
        case .unsignedInteger(let v): Int64(exactly: v)
        default: nil
        }
    }
}

/// Validates JSON against the subset of JSON Schema (draft 2020-12) that VMA's
/// `GpuMemDump.schema.json` uses, and more of the same family: `type`, `properties`,
/// `required`, `additionalProperties`, `patternProperties`, `propertyNames`, `items`,
/// `enum`, `const`, `pattern`, `minimum`, `maximum`, `minItems`, `minLength`, and `$ref`
/// into `$defs`/`definitions`. Any other keyword stops validation with an error, so a
/// schema that grows a keyword this does not know fails the test rather than passing
/// unchecked.
struct JSONSchemaValidator {
    /// Keywords that only describe (or identify) a schema.
    static let annotations: Set<String> = ["$schema", "$id", "$comment", "title", "description", "$defs",
                                           "definitions", "default", "examples"]
    static let supported: Set<String> = ["type", "properties", "required", "additionalProperties",
                                         "patternProperties", "propertyNames", "items", "enum", "const", "pattern",
                                         "minimum", "maximum", "minItems", "minLength", "$ref"]

    struct UnsupportedKeyword: Error, CustomStringConvertible {
        let keyword: String
        let path: String
        var description: String { "the schema uses '\(keyword)' at \(path), which this validator does not check" }
    }

    let root: JSONValue

    /// Every keyword the schema uses, at any depth, outside `enum`/`const` values.
    func keywords() -> Set<String> {
        var found: Set<String> = []
        func walk(_ schema: JSONValue) {
            guard let members = schema.objectValue else { return }
            for (key, value) in members {
                found.insert(key)
                switch key {
                case "properties", "patternProperties", "$defs", "definitions":
                    value.objectValue?.values.forEach(walk)
                case "additionalProperties", "items", "propertyNames":
                    walk(value)
                default: break
                }
            }
        }
        walk(root)
        return found
    }

    /// The places where `instance` breaks the schema, as "path: reason"; empty when valid.
    func errors(in instance: JSONValue) throws -> [String] {
        var errors: [String] = []
        try validate(instance, against: root, path: "$", schemaPath: "#", errors: &errors)
        return errors
    }

    private func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/") else { return nil }
        var node: JSONValue? = root
        for part in reference.dropFirst(2).split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            node = node?[key]
        }
        return node
    }

    private func validate(_ instance: JSONValue, against schema: JSONValue, path: String, schemaPath: String,
                          errors: inout [String]) throws {
        if case .bool(let allowed) = schema {
            if !allowed { errors.append("\(path): not allowed here") }
            return
        }
        guard let keywords = schema.objectValue else {
            errors.append("\(schemaPath): a schema must be an object or a boolean")
            return
        }
        for keyword in keywords.keys where !Self.supported.contains(keyword) && !Self.annotations.contains(keyword) {
            throw UnsupportedKeyword(keyword: keyword, path: schemaPath)
        }
        if let reference = keywords["$ref"]?.stringValue {
            guard let target = resolve(reference) else {
                errors.append("\(schemaPath): cannot resolve $ref \(reference)")
                return
            }
            try validate(instance, against: target, path: path, schemaPath: reference, errors: &errors)
        }
        if let type = keywords["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue].compactMap { $0 }
            if !allowed.contains(where: { Self.matches(instance, type: $0) }) {
                errors.append("\(path): expected \(allowed.joined(separator: " or ")), found \(Self.describe(instance))")
                return
            }
        }
        if let options = keywords["enum"]?.arrayValue, !options.contains(instance) {
            errors.append("\(path): \(Self.describe(instance)) is not one of the allowed values")
        }
        if let constant = keywords["const"], constant != instance {
            errors.append("\(path): \(Self.describe(instance)) is not the required value")
        }
        if case .string(let string) = instance {
            if let pattern = keywords["pattern"]?.stringValue, !Self.search(pattern, in: string) {
                errors.append("\(path): \"\(string)\" does not match /\(pattern)/")
            }
            if let minimum = keywords["minLength"]?.integerValue, string.count < minimum {
                errors.append("\(path): shorter than \(minimum)")
            }
        }
        if let value = Self.numeric(instance) {
            if let minimum = keywords["minimum"].flatMap(Self.numeric), value < minimum {
                errors.append("\(path): \(value) is below the minimum \(minimum)")
            }
            if let maximum = keywords["maximum"].flatMap(Self.numeric), value > maximum {
                errors.append("\(path): \(value) is above the maximum \(maximum)")
            }
        }
        if case .array(let elements) = instance {
            if let minimum = keywords["minItems"]?.integerValue, elements.count < minimum {
                errors.append("\(path): fewer than \(minimum) items")
            }
            if let items = keywords["items"] {
                for (index, element) in elements.enumerated() {
                    try validate(element, against: items, path: "\(path)[\(index)]", schemaPath: schemaPath + "/items",
                                 errors: &errors)
                }
            }
        }
        if case .object(let members) = instance {
            for name in keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
                errors.append("\(path): the required member \"\(name)\" is missing")
            }
            let properties = keywords["properties"]?.objectValue ?? [:]
            let patterns = keywords["patternProperties"]?.objectValue ?? [:]
            for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                let memberPath = "\(path).\(name)"
                if let names = keywords["propertyNames"] {
                    try validate(.string(name), against: names, path: "\(memberPath) (name)",
                                 schemaPath: schemaPath + "/propertyNames", errors: &errors)
                }
                var matched = false
                if let property = properties[name] {
                    matched = true
                    try validate(value, against: property, path: memberPath, schemaPath: schemaPath + "/properties/\(name)",
                                 errors: &errors)
                }
                for (pattern, subschema) in patterns where Self.search(pattern, in: name) {
                    matched = true
                    try validate(value, against: subschema, path: memberPath,
                                 schemaPath: schemaPath + "/patternProperties", errors: &errors)
                }
                if !matched, let additional = keywords["additionalProperties"] {
                    try validate(value, against: additional, path: memberPath,
                                 schemaPath: schemaPath + "/additionalProperties", errors: &errors)
                }
            }
        }
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("integer", .integer), ("integer", .unsignedInteger), ("number", .integer), ("number", .unsignedInteger),
             ("number", .number):
            true
        case ("integer", .number(let value)):
            value.rounded() == value
        default:
            false
        }
    }

    private static func numeric(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let v): Double(v)
        case .unsignedInteger(let v): Double(v)
        case .number(let v): v
        default: nil
        }
    }

    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let v): "boolean \(v)"
        case .integer(let v): "integer \(v)"
        case .unsignedInteger(let v): "integer \(v)"
        case .number(let v): "number \(v)"
        case .string(let v): "string \"\(v)\""
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// JSON Schema's `pattern`: an ECMA-262 regular expression that matches anywhere in
    /// the string unless anchored.
    private static func search(_ pattern: String, in string: String) -> Bool {
        string.range(of: pattern, options: .regularExpression) != nil
    }
}
