/// How error messages write a tensor shape: `[1,3,224,224]`, the same on every route.
enum ShapeText {
    static func format(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ",") + "]"
    }
}
