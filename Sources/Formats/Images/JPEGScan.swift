/// Scans: Huffman-decoding quantised coefficients into each component's block grid, for
/// sequential scans (all 64 coefficients at once) and the four progressive scan kinds (DC
/// first/refine, AC first/refine with end-of-band runs).
extension JPEGFrameDecoder {
    private struct ScanComponent {
        let index: Int, dcTable: Int, acTable: Int
    }

    private struct Band {
        let start: Int, end: Int, high: Int, low: Int
        var isDC: Bool { start == 0 }
    }

    mutating func readScan(_ segment: ArraySlice<UInt8>) throws {
        let s = Array(segment)
        guard !components.isEmpty else { throw JPEGSegmentError("scan before the frame header") }
        guard let count = s.first.map(Int.init), (1...4).contains(count), s.count >= 4 + 2 * count else {
            throw JPEGSegmentError("scan header of \(s.count) bytes")
        }
        var members: [ScanComponent] = []
        for index in 0..<count {
            let id = Int(s[1 + 2 * index]), tables = s[2 + 2 * index]
            guard let componentIndex = components.firstIndex(where: { $0.id == id }) else {
                throw JPEGSegmentError("scan names component \(id), which the frame lacks")
            }
            members.append(ScanComponent(index: componentIndex, dcTable: Int(tables >> 4) & 3, acTable: Int(tables & 15) & 3))
        }
        let band = Band(start: Int(s[1 + 2 * count]), end: Int(s[2 + 2 * count]),
                        high: Int(s[3 + 2 * count] >> 4), low: Int(s[3 + 2 * count] & 15))
        if isProgressive {
            guard band.start <= band.end, band.end < 64, band.low < 14, (band.start == 0) == (band.end == 0),
                  band.start == 0 || count == 1 else {
                throw JPEGSegmentError("progressive band \(band.start)...\(band.end), bits \(band.high)/\(band.low)")
            }
        } else if band.start != 0 || band.end != 63 || band.high != 0 || band.low != 0 {
            throw JPEGSegmentError("sequential scan with band \(band.start)...\(band.end)")
        }
        for member in members {
            if band.isDC && band.high == 0 && dcTables[member.dcTable] == nil {
                throw JPEGSegmentError("scan uses undefined DC table \(member.dcTable)")
            }
            if (!band.isDC || !isProgressive) && acTables[member.acTable] == nil {
                throw JPEGSegmentError("scan uses undefined AC table \(member.acTable)")
            }
            components[member.index].dcPredictor = 0
        }
        try decodeScan(members, band)
    }

    private mutating func decodeScan(_ members: [ScanComponent], _ band: Band) throws {
        var reader = JPEGBitReader(bytes: bytes, position: position)
        var endOfBandRun = 0
        // A single-component scan walks that component's own blocks; an interleaved one MCUs.
        let single = members.count == 1 ? components[members[0].index] : nil
        let columns = single?.usedBlocksPerLine ?? (width + 8 * maxHorizontal - 1) / (8 * maxHorizontal)
        let rows = single?.usedBlocksPerColumn ?? (height + 8 * maxVertical - 1) / (8 * maxVertical)
        let total = columns * rows
        for mcu in 0..<total {
            if restartInterval > 0 && mcu > 0 && mcu % restartInterval == 0 {
                guard reader.restart() else { throw Failure.truncated("restart marker before MCU \(mcu)") }
                endOfBandRun = 0
                for member in members { components[member.index].dcPredictor = 0 }
            }
            let (mcuX, mcuY) = (mcu % columns, mcu / columns)
            for member in members {
                let component = components[member.index]
                let (h, v) = single == nil ? (component.horizontal, component.vertical) : (1, 1)
                for blockY in 0..<v {
                    for blockX in 0..<h {
                        let row = mcuY * v + blockY, column = mcuX * h + blockX
                        let offset = (row * component.blocksPerLine + column) * 64
                        try decodeBlock(&reader, member, band, at: offset, endOfBandRun: &endOfBandRun)
                    }
                }
            }
            if reader.isOverrun { throw Failure.truncated("scan data ends inside MCU \(mcu) of \(total)") }
        }
        position = reader.markerSearchStart
        // Skip to the next marker that is not a restart marker.
        while position + 1 < bytes.count
            && !(bytes[position] == 0xFF && bytes[position + 1] != 0 && !(0xD0...0xD7).contains(bytes[position + 1])) {
            position += 1
        }
    }

    private mutating func decodeBlock(_ reader: inout JPEGBitReader, _ member: ScanComponent, _ band: Band,
                                      at offset: Int, endOfBandRun: inout Int) throws {
        let dc = dcTables[member.dcTable], ac = acTables[member.acTable]
        var predictor = components[member.index].dcPredictor
        defer { components[member.index].dcPredictor = predictor }
        let isProgressive = isProgressive
        try components[member.index].coefficients.withUnsafeMutableBufferPointer { all in
            let block = UnsafeMutableBufferPointer(rebasing: all[offset..<offset + 64])
            if !isProgressive {
                try Self.decodeDC(&reader, dc!, &predictor, block, shift: 0)
                try Self.decodeACFirst(&reader, ac!, block, Band(start: 1, end: 63, high: 0, low: 0), &endOfBandRun)
            } else if band.isDC {
                if band.high == 0 {
                    try Self.decodeDC(&reader, dc!, &predictor, block, shift: band.low)
                } else if reader.bits(1) == 1 {
                    block[0] |= 1 << Int32(band.low)
                }
            } else if band.high == 0 {
                try Self.decodeACFirst(&reader, ac!, block, band, &endOfBandRun)
            } else {
                try Self.refineAC(&reader, ac!, block, band, &endOfBandRun)
            }
        }
    }

    private static func decodeDC(_ reader: inout JPEGBitReader, _ table: JPEGHuffmanTable, _ predictor: inout Int,
                          _ block: UnsafeMutableBufferPointer<Int32>, shift: Int) throws {
        let category = try table.decode(&reader)
        guard category <= 16 else { throw JPEGSegmentError("DC magnitude category \(category)") }
        predictor = predictor &+ reader.receiveExtended(category)
        block[0] = Int32(truncatingIfNeeded: predictor << shift)
    }

    /// A sequential block's AC coefficients, or a progressive first AC scan's band.
    private static func decodeACFirst(_ reader: inout JPEGBitReader, _ table: JPEGHuffmanTable,
                               _ block: UnsafeMutableBufferPointer<Int32>, _ band: Band, _ endOfBandRun: inout Int) throws {
        if endOfBandRun > 0 {
            endOfBandRun -= 1
            return
        }
        var k = band.start
        while k <= band.end {
            let symbol = try table.decode(&reader)
            let run = symbol >> 4, size = symbol & 15
            if size == 0 {
                if run < 15 {
                    endOfBandRun = (1 << run) - 1 + reader.bits(run)
                    return
                }
                k += 16
                continue
            }
            k += run
            guard k <= band.end else { throw JPEGSegmentError("AC coefficient index \(k) past \(band.end)") }
            block[jpegNaturalOrder[k]] = Int32(truncatingIfNeeded: reader.receiveExtended(size) << band.low)
            k += 1
        }
    }

    /// A progressive AC refinement scan: one more bit for every non-zero coefficient of the
    /// band and new coefficients of magnitude 1 << low.
    private static func refineAC(_ reader: inout JPEGBitReader, _ table: JPEGHuffmanTable,
                          _ block: UnsafeMutableBufferPointer<Int32>, _ band: Band, _ endOfBandRun: inout Int) throws {
        let plus = Int32(1) << Int32(band.low), minus = Int32(-1) << Int32(band.low)
        func refine(_ position: Int, reader: inout JPEGBitReader) {
            let value = block[position]
            if reader.bits(1) == 1 && value & plus == 0 { block[position] = value &+ (value >= 0 ? plus : minus) }
        }
        var k = band.start
        if endOfBandRun == 0 {
            while k <= band.end {
                let symbol = try table.decode(&reader)
                var run = symbol >> 4
                let size = symbol & 15
                var newValue: Int32 = 0
                if size != 0 {
                    guard size == 1 else { throw JPEGSegmentError("refinement coefficient of size \(size)") }
                    newValue = reader.bits(1) == 1 ? plus : minus
                } else if run != 15 {
                    endOfBandRun = (1 << run) + reader.bits(run)
                    break
                }
                while k <= band.end {
                    let position = jpegNaturalOrder[k]
                    if block[position] != 0 {
                        refine(position, reader: &reader)
                    } else {
                        if run == 0 { break }
                        run -= 1
                    }
                    k += 1
                }
                if newValue != 0 {
                    guard k <= band.end else { throw JPEGSegmentError("refinement past the band's end") }
                    block[jpegNaturalOrder[k]] = newValue
                }
                k += 1
            }
        }
        if endOfBandRun > 0 {
            while k <= band.end {
                let position = jpegNaturalOrder[k]
                if block[position] != 0 { refine(position, reader: &reader) }
                k += 1
            }
            endOfBandRun -= 1
        }
    }

    /// Dequantises, inverse-transforms, upsamples and color-converts the decoded coefficients.
    func reconstruct() throws -> Image {
        var planes: [[UInt8]] = []
        for component in components {
            let table = quantization[component.quantizationTable]
            guard table.count == 64 else { throw JPEGSegmentError("component \(component.id) uses undefined quantization table") }
            let stride = component.blocksPerLine * 8
            var plane = [UInt8](repeating: 0, count: stride * component.blocksPerColumn * 8)
            var block = [Int32](repeating: 0, count: 64)
            var workspace = [Int](repeating: 0, count: 64)
            plane.withUnsafeMutableBufferPointer { samples in
                for row in 0..<component.blocksPerColumn {
                    for column in 0..<component.blocksPerLine {
                        let offset = (row * component.blocksPerLine + column) * 64
                        for index in 0..<64 {
                            // Valid data stays far inside ±2^16; the clamp only bounds hostile input.
                            let value = Int(component.coefficients[offset + index]) * table[index]
                            block[index] = Int32(min(max(value, -65536), 65536))
                        }
                        block.withUnsafeBufferPointer { coefficients in
                            JPEGReconstruction.inverseDCT(coefficients.baseAddress!,
                                                          into: samples.baseAddress! + row * 8 * stride + column * 8,
                                                          stride: stride, workspace: &workspace)
                        }
                    }
                }
            }
            let validWidth = (width * component.horizontal + maxHorizontal - 1) / maxHorizontal
            let validHeight = (height * component.vertical + maxVertical - 1) / maxVertical
            planes.append(JPEGReconstruction.upsample(plane, width: validWidth, height: validHeight, stride: stride,
                                                      horizontal: maxHorizontal / component.horizontal,
                                                      vertical: maxVertical / component.vertical,
                                                      outputWidth: width, outputHeight: height))
        }
        if planes.count == 1 { return Image(width: width, height: height, channels: 1, pixels: planes[0]) }
        if adobeTransform == 0 {   // Adobe files may store RGB directly
            var pixels = [UInt8](repeating: 0, count: width * height * 3)
            for index in 0..<width * height { for channel in 0..<3 { pixels[3 * index + channel] = planes[channel][index] } }
            return Image(width: width, height: height, channels: 3, pixels: pixels)
        }
        return Image(width: width, height: height, channels: 3,
                     pixels: JPEGReconstruction.rgb(luma: planes[0], blue: planes[1], red: planes[2]))
    }
}
