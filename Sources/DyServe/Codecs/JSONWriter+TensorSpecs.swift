extension JSONWriter {
    /// A model's inputs or outputs as `[{"name", "datatype", "shape"}]`, -1 for the batch dimension:
    /// the same shape in `/models` and in V2 model metadata.
    mutating func tensorSpecs(_ specs: [ServedTensorSpec]) {
        beginArray()
        for spec in specs {
            beginObject()
            key("name"); string(spec.name)
            key("datatype"); string(spec.datatype)
            key("shape"); ints(spec.shape)
            endObject()
        }
        endArray()
    }
}
