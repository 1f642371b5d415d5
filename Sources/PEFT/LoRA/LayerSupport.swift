import NN

/// LoRA layers for base types beyond `Linear`.
func makeLoRALayer(wrapping module: Module) -> LoRALayer? {
    switch module {
    case let embedding as Embedding: LoRAEmbedding(base: embedding)
    case let convolution as Conv2d: LoRAConv2d(base: convolution)
    default: nil
    }
}

/// An empty module of the same type and geometry, for `modules_to_save` copies.
func makeEmptyCopy(of module: Module) -> Module? {
    switch module {
    case let embedding as Embedding: Embedding(count: embedding.count, dimensions: embedding.dimensions)
    case let convolution as Conv2d:
        Conv2d(inputChannels: convolution.inputChannels, outputChannels: convolution.outputChannels,
               kernelSize: convolution.kernelSize, stride: convolution.stride, padding: convolution.padding,
               dilation: convolution.dilation, groups: convolution.groups, bias: convolution.bias != nil)
    default: nil
    }
}
