/// The shape of a V2 input's nested `data` as it is read: every array at one nesting level must
/// have the same length and every number must sit at the same depth, so `[[1, 2], [3]]` (ragged)
/// and `[1, [2]]` (mixed) are refused with the place of the first element that breaks the
/// pattern, instead of being flattened into a tensor with values in the wrong places.
struct NestedDataShape: Sendable {
    /// Per nesting level: the length of its arrays and where the first one was.
    private var lengths: [(count: Int, path: String)?] = []
    /// Arrays enclosing each number, once the first number was read.
    private var leafLevel: Int?
    private var firstLeafPath = ""

    /// The lengths per level: the tensor shape the nesting spells (`[n]` for flat data).
    var dims: [Int] { lengths.compactMap { $0?.count } }

    /// An array closed at `level` (0 = `data` itself) holding `count` elements.
    mutating func array(level: Int, count: Int, place: String, path: String) throws(RequestError) {
        if let leafLevel, level >= leafLevel {
            throw .badRequest("\(place)\(path) is an array where \(place)\(firstLeafPath) is a number; nested data must be rectangular")
        }
        while lengths.count <= level { lengths.append(nil) }
        if let first = lengths[level] {
            guard first.count == count else {
                throw .badRequest("\(place)\(path) has \(count) elements but \(place)\(first.path) has \(first.count); nested data must be rectangular")
            }
        } else {
            lengths[level] = (count, path)
        }
    }

    /// A number read inside `level` arrays.
    mutating func number(level: Int, place: String, path: String) throws(RequestError) {
        if let leafLevel {
            guard level == leafLevel else {
                throw .badRequest("\(place)\(path) is \(level < leafLevel ? "a number" : "nested deeper") where \(place)\(firstLeafPath) is at depth \(leafLevel); nested data must be rectangular")
            }
        } else {
            if lengths.count > level, lengths[level] != nil {
                throw .badRequest("\(place)\(path) is a number where other elements at that depth are arrays; nested data must be rectangular")
            }
            leafLevel = level
            firstLeafPath = path
        }
    }
}
