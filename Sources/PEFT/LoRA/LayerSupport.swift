import NN

/// LoRA layers for base types beyond `Linear` (Embedding and Conv2d join when NN has them).
func makeLoRALayer(wrapping module: Module) -> LoRALayer? {
    nil
}

/// An empty module of the same type and geometry, for `modules_to_save` copies.
func makeEmptyCopy(of module: Module) -> Module? {
    nil
}
