extension Substring {
    /// Without spaces and tabs at either end: HTTP's optional whitespace (RFC 9110, section 5.6.3)
    /// around header values and their comma-separated parts. Foundation-free.
    func strippingBlanks() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
