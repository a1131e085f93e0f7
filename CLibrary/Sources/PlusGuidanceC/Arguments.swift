import Foundation
@_spi(PlusGuidanceTools) import PlusGuidanceSync

public typealias CString = UnsafePointer<CChar>
public typealias OutString = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

/// A required string argument: present and valid UTF-8, or PG_EINVALID naming it.
func text(_ pointer: CString?, _ name: String) throws -> String {
    guard let pointer else { throw MisuseError.invalid("\(name) is NULL") }
    guard let value = String(validatingCString: pointer) else {
        throw MisuseError.invalid("\(name) is not valid UTF-8", code: "invalid_utf8")
    }
    return value
}

/// An optional string argument: NULL is nil.
func optionalText(_ pointer: CString?, _ name: String) throws -> String? {
    guard pointer != nil else { return nil }
    return try text(pointer, name)
}

/// A JSON object argument (NULL is the empty object).
struct JSONArguments {
    private let object: [String: Any]
    private let name: String

    init(_ pointer: CString?, _ name: String) throws {
        self.name = name
        guard pointer != nil else {
            object = [:]
            return
        }
        let json = try text(pointer, name)
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
            let object = parsed as? [String: Any]
        else { throw MisuseError.invalid("\(name) is not a JSON object", code: "invalid_json") }
        self.object = object
    }

    func string(_ key: String) throws -> String? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else { throw MisuseError.invalid("\(name).\(key) must be a string") }
        return string
    }

    func number(_ key: String) throws -> Double? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        // JSONSerialization gives numbers as NSNumber and booleans as its subclass
        // (__NSCFBoolean), which also casts to Double: tell them apart by the exact class.
        guard let number = value as? NSNumber, type(of: number) == NSNumber.self, number.doubleValue.isFinite else {
            throw MisuseError.invalid("\(name).\(key) must be a number")
        }
        return number.doubleValue
    }

    func integer(_ key: String) throws -> Int? {
        guard let value = try number(key) else { return nil }
        guard value == value.rounded(), abs(value) < 1e15 else {
            throw MisuseError.invalid("\(name).\(key) must be a whole number")
        }
        return Int(value)
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = object[key], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, type(of: number) != NSNumber.self, let flag = value as? Bool else {
            throw MisuseError.invalid("\(name).\(key) must be true or false")
        }
        return flag
    }

    /// Refuses keys this version does not know, so a misspelt option is not silently ignored.
    func allowing(_ keys: Set<String>) throws -> JSONArguments {
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw MisuseError.invalid("\(name) has an unknown key \"\(unknown.visiblyEscaped)\"")
        }
        return self
    }
}

/// Stores a result for the caller through `out`.
func give(_ value: Any, to out: OutString?) throws {
    guard let out else { throw MisuseError.invalid("out is NULL") }
    out.pointee = handOut(try ContractJSON.encoded(value))
}

/// Stores JSON already written for the caller through `out`.
func give(json: [UInt8], to out: OutString?) throws {
    guard let out else { throw MisuseError.invalid("out is NULL") }
    out.pointee = handOut(bytes: json)
}

/// Checks `out` before any work is done, and clears what it points at.
func prepare(_ out: OutString?) throws -> OutString {
    guard let out else { throw MisuseError.invalid("out is NULL") }
    out.pointee = nil
    return out
}
