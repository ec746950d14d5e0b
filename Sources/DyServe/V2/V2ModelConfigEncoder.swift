/// Writes a `V2ModelConfig` as Triton's JSON model configuration (the protobuf `ModelConfig` in
/// its JSON mapping), with the fields tritonclient's `get_model_config()` and perf_analyzer read,
/// and the rest of the message at its empty values so strict readers find every member.
enum V2ModelConfigEncoder {
    static func encode(_ config: V2ModelConfig) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("name"); w.string(config.name)
        w.key("platform"); w.string("dyserve")
        w.key("backend"); w.string("dyserve")
        w.key("version_policy")
        w.beginObject()
        w.key("specific"); w.beginObject(); w.key("versions"); w.beginArray(); w.string(config.version); w.endArray(); w.endObject()
        w.endObject()
        w.key("max_batch_size"); w.int(config.maxBatchSize)
        w.key("input")
        w.beginArray()
        for t in config.inputs {
            w.beginObject()
            tensor(t, into: &w)
            w.key("format"); w.string("FORMAT_NONE")
            w.key("allow_ragged_batch"); w.bool(false)
            w.key("optional"); w.bool(false)
            w.endObject()
        }
        w.endArray()
        w.key("output")
        w.beginArray()
        for t in config.outputs {
            w.beginObject()
            tensor(t, into: &w)
            w.key("label_filename"); w.string("")
            w.endObject()
        }
        w.endArray()
        w.key("batch_input"); w.beginArray(); w.endArray()
        w.key("batch_output"); w.beginArray(); w.endArray()
        if let batching = config.dynamicBatching {
            w.key("dynamic_batching")
            w.beginObject()
            w.key("preferred_batch_size"); w.ints(batching.preferredBatchSizes)
            w.key("max_queue_delay_microseconds"); w.int(batching.maxQueueDelayMicroseconds)
            w.key("preserve_ordering"); w.bool(false)
            w.key("priority_levels"); w.int(0)
            w.key("default_priority_level"); w.int(0)
            w.endObject()
        }
        w.key("instance_group")
        w.beginArray()
        w.beginObject()
        w.key("name"); w.string(config.name)
        w.key("kind"); w.string("KIND_CPU")
        w.key("count"); w.int(config.instanceCount)
        w.key("gpus"); w.beginArray(); w.endArray()
        w.key("passive"); w.bool(false)
        w.endObject()
        w.endArray()
        w.key("default_model_filename"); w.string("model.json")
        w.key("model_transaction_policy"); w.beginObject(); w.key("decoupled"); w.bool(false); w.endObject()
        w.key("parameters")
        w.beginObject()
        for (key, value) in config.parameters {
            w.key(key)
            w.beginObject(); w.key("string_value"); w.string(value); w.endObject()
        }
        w.endObject()
        w.key("model_warmup"); w.beginArray(); w.endArray()
        w.endObject()
        return w.bytes
    }

    private static func tensor(_ t: V2ModelConfig.Tensor, into w: inout JSONWriter) {
        w.key("name"); w.string(t.name)
        w.key("data_type"); w.string(t.dataType)
        w.key("dims"); w.ints(t.dims)
        w.key("is_shape_tensor"); w.bool(false)
    }
}
