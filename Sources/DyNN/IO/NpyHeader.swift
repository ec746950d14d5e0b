/// The dictionary literal of a `.npy` header, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`: a tiny parser for exactly the
/// Python literal subset numpy writes (strings, booleans, tuples of integers).
struct NpyHeader: Equatable {
    var descr: String
    var fortranOrder: Bool
    var shape: [Int]

    private enum Literal: Equatable {
        case string(String)
        case bool(Bool)
        case tuple([Int])
    }

    static func parse(_ text: String) throws(NpyError) -> NpyHeader {
        var scanner = Scanner(characters: Array(text.unicodeScalars))
        scanner.skipSpaces()
        guard scanner.take("{") else { throw .malformedHeader("not a dictionary") }
        var fields: [String: Literal] = [:]
        while true {
            scanner.skipSpaces()
            if scanner.take("}") { break }
            guard case .string(let key) = try scanner.literal() else { throw .malformedHeader("dictionary keys must be strings") }
            scanner.skipSpaces()
            guard scanner.take(":") else { throw .malformedHeader("expected ':' after '\(key)'") }
            scanner.skipSpaces()
            guard fields[key] == nil else { throw .malformedHeader("duplicate key '\(key)'") }
            fields[key] = try scanner.literal()
            scanner.skipSpaces()
            if scanner.take(",") { continue }
            scanner.skipSpaces()
            guard scanner.take("}") else { throw .malformedHeader("expected ',' or '}' after '\(key)'") }
            break
        }
        scanner.skipSpaces()
        guard scanner.atEnd else { throw .malformedHeader("text after the dictionary") }
        for key in fields.keys where !["descr", "fortran_order", "shape"].contains(key) {
            throw .malformedHeader("unknown key '\(key)'")
        }
        guard case .string(let descr)? = fields["descr"] else { throw .malformedHeader("missing 'descr' string") }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw .malformedHeader("missing 'fortran_order' boolean") }
        guard case .tuple(let shape)? = fields["shape"] else { throw .malformedHeader("missing 'shape' tuple") }
        return NpyHeader(descr: descr, fortranOrder: fortran, shape: shape)
    }

    /// numpy's own rendering: one-element tuples keep their trailing comma.
    var rendered: String {
        let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        return "{'descr': '\(descr)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(dims), }"
    }

    private struct Scanner {
        var characters: [Unicode.Scalar]
        var position = 0

        var atEnd: Bool { position >= characters.count }

        mutating func skipSpaces() {
            while position < characters.count, characters[position] == " " || characters[position] == "\n" || characters[position] == "\t" {
                position += 1
            }
        }

        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard position < characters.count, characters[position] == character else { return false }
            position += 1
            return true
        }

        mutating func word(_ text: String) -> Bool {
            let scalars = Array(text.unicodeScalars)
            guard position + scalars.count <= characters.count,
                  Array(characters[position..<position + scalars.count]) == scalars else { return false }
            position += scalars.count
            return true
        }

        mutating func literal() throws(NpyError) -> Literal {
            if word("True") { return .bool(true) }
            if word("False") { return .bool(false) }
            guard position < characters.count else { throw .malformedHeader("unexpected end") }
            let open = characters[position]
            if open == "'" || open == "\"" {
                position += 1
                var text = ""
                while position < characters.count, characters[position] != open {
                    text.unicodeScalars.append(characters[position])
                    position += 1
                }
                guard take(open) else { throw .malformedHeader("unterminated string") }
                return .string(text)
            }
            if take("(") {
                var dims: [Int] = []
                while true {
                    skipSpaces()
                    if take(")") { break }
                    dims.append(try integer())
                    skipSpaces()
                    if take(",") { continue }
                    guard take(")") else { throw .malformedHeader("expected ',' or ')' in shape") }
                    break
                }
                return .tuple(dims)
            }
            throw .malformedHeader("unexpected character '\(open)'")
        }

        mutating func integer() throws(NpyError) -> Int {
            var digits = ""
            if take("-") { digits = "-" }
            while position < characters.count, let _ = characters[position].properties.numericType,
                  ("0"..."9").contains(characters[position]) {
                digits.unicodeScalars.append(characters[position])
                position += 1
            }
            if take("L") {}  // Python 2 long suffix in old files
            guard let value = Int(digits) else { throw .badShape("'\(digits)' is not an integer that fits in 64 bits") }
            guard value >= 0 else { throw .badShape("negative dimension \(value)") }
            return value
        }
    }
}
