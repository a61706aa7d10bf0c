import Foundation

/// Validates a ``RecipeNode`` tree into a ``Recipe`` (version 2, or version 1 migrated forward),
/// and writes a recipe back as its canonical tree. The two are inverses: parsing the canonical
/// tree of any valid recipe gives the same recipe.
enum RecipeParser {
    static func recipe(from root: RecipeNode, source: String) throws(ImagingError) -> Recipe {
        var r = try RecipeReader(root, path: "", source: source)
        guard let version = try r.integer("version", default: nil, range: Int.min...Int.max) else {
            throw .invalidRecipe(source: RecipeDocument.place(source, root.location), key: "version",
                                 reason: "missing (write `version: \(Recipe.currentVersion)` first)")
        }
        switch version {
        case 1: return try versionOne(&r)
        case 2: return try versionTwo(&r)
        default:
            throw r.error("version", "unsupported version \(version) (this build reads 1 and \(Recipe.currentVersion))")
        }
    }

    static func name(_ r: inout RecipeReader) throws(ImagingError) -> String {
        guard let name = try r.text("name") else { throw r.error("name", "missing (every recipe needs a name)") }
        guard !name.isEmpty, name.count <= 100, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw r.error("name", "must be 1…100 characters without control characters")
        }
        return name
    }

    // MARK: Version 2

    static func versionTwo(_ r: inout RecipeReader) throws(ImagingError) -> Recipe {
        var recipe = Recipe(name: try name(&r))
        recipe.demosaic = try r.choice("demosaic", default: Recipe.Demosaic.quality)
        recipe.whiteBalance = try whiteBalance(&r)
        if var c = try r.mapping("color") {
            recipe.color.outputSpace = try c.choice("outputSpace", default: Recipe.OutputSpace.sRGB)
            try c.finish()
        }
        if var t = try r.mapping("tone") { recipe.tone = try tone(&t) }
        recipe.look = try look(&r)
        recipe.sharpen = try sharpen(&r)
        recipe.resize = try resize(&r)
        recipe.crop = try crop(&r)
        if var o = try r.mapping("output") { recipe.output = try output(&o) }
        try r.finish()
        return recipe
    }

    /// `asShot` | `auto` | `{mode: asShot|auto}` | `{preset: NAME}` | `{kelvin: {temperature, tint}}`.
    static func whiteBalance(_ r: inout RecipeReader) throws(ImagingError) -> Recipe.WhiteBalance {
        guard let node = r.node("whiteBalance") else { return .asShot }
        let path = r.keyPath("whiteBalance")
        if case .string(let s) = node.value {
            switch s {
            case "asShot": return .asShot
            case "auto": return .auto
            default:
                throw .invalidRecipe(source: RecipeDocument.place(r.source, node.location), key: path,
                                     reason: "\"\(s)\" is not asShot or auto (presets: {preset: daylight}, explicit: {kelvin: {temperature: 5200}})")
            }
        }
        var w = try RecipeReader(node, path: path, source: r.source)
        let forms = w.keys.filter { ["mode", "preset", "kelvin"].contains($0) }
        guard forms.count == 1 else {
            throw .invalidRecipe(source: RecipeDocument.place(r.source, node.location), key: path,
                                 reason: "give exactly one of mode, preset, kelvin (found \(forms.isEmpty ? "none" : forms.joined(separator: ", ")))")
        }
        let result: Recipe.WhiteBalance
        switch forms[0] {
        case "mode":
            guard let mode = try w.text("mode"), mode == "asShot" || mode == "auto" else {
                throw w.error("mode", "must be asShot or auto")
            }
            result = mode == "auto" ? .auto : .asShot
        case "preset":
            result = .preset(try w.choice("preset", default: Recipe.WhiteBalancePreset.daylight))
        default:
            guard var k = try w.mapping("kelvin") else { throw w.error("kelvin", "expected {temperature: K, tint: T}") }
            guard k.has("temperature") else { throw w.error("kelvin", "missing temperature") }
            let t = try k.number("temperature", default: 5000, range: Recipe.WhiteBalance.temperatureRange)
            let tint = try k.number("tint", default: 0, range: Recipe.WhiteBalance.tintRange)
            try k.finish()
            result = .kelvin(temperature: t, tint: tint)
        }
        try w.finish()
        return result
    }

    static func tone(_ t: inout RecipeReader) throws(ImagingError) -> Recipe.Tone {
        var tone = Recipe.Tone()
        tone.exposure = try t.number("exposure", default: 0, range: Recipe.Tone.exposureRange)
        tone.highlights = try t.choice("highlights", default: Recipe.Highlights.clip)
        tone.contrast = try t.number("contrast", default: 0, range: Recipe.Tone.unitRange)
        tone.saturation = try t.number("saturation", default: 0, range: Recipe.Tone.unitRange)
        tone.vibrance = try t.number("vibrance", default: 0, range: Recipe.Tone.unitRange)
        tone.curve = try curve(&t)
        try t.finish()
        return tone
    }

    /// `none` | `srgb` | `filmic` | `{type: none|srgb|filmic, whitePoint, blackPoint, contrast}`.
    static func curve(_ t: inout RecipeReader) throws(ImagingError) -> Recipe.Curve {
        guard let node = t.node("curve") else { return .srgb }
        let path = t.keyPath("curve")
        let kind: String
        var params: RecipeReader? = nil
        if case .mapping = node.value {
            var m = try RecipeReader(node, path: path, source: t.source)
            guard let type = try m.text("type") else { throw m.error("type", "missing (none, srgb or filmic)") }
            kind = type
            params = m
        } else if case .string(let s) = node.value {
            kind = s
        } else {
            throw .invalidRecipe(source: RecipeDocument.place(t.source, node.location), key: path, reason: "expected none, srgb, filmic or a mapping, found \(node.shown)")
        }
        let curve: Recipe.Curve
        switch kind {
        case "none": curve = .none
        case "srgb": curve = .srgb
        case "filmic":
            var f = Recipe.Filmic()
            if var p = params {
                f.whitePoint = try p.number("whitePoint", default: f.whitePoint, range: Recipe.Filmic.whitePointRange)
                f.blackPoint = try p.number("blackPoint", default: f.blackPoint, range: Recipe.Filmic.blackPointRange)
                f.contrast = try p.number("contrast", default: f.contrast, range: Recipe.Filmic.contrastRange)
                params = p
            }
            curve = .filmic(f)
        default:
            let at = params.flatMap { p in p.entries.first { $0.key == "type" }?.node.location } ?? node.location
            throw .invalidRecipe(source: RecipeDocument.place(t.source, at), key: params == nil ? path : path + ".type",
                                 reason: "\"\(kind)\" is not one of none, srgb, filmic")
        }
        try params?.finish()
        return curve
    }

    static func look(_ r: inout RecipeReader) throws(ImagingError) -> Recipe.Look {
        if case .mapping = r.entries.first(where: { $0.key == "look" })?.node.value, var embedded = try r.mapping("look") {
            // `look: {cube: NAME, table: TEXT}` — a LUT carried inside the recipe.
            guard let source = try embedded.text("cube") else { throw embedded.error("cube", "an embedded LUT needs its source name") }
            guard let table = try embedded.text("table") else { throw embedded.error("table", "an embedded LUT needs its .cube text") }
            try embedded.finish()
            do {
                _ = try CubeLUT.parse(table, source: source)
            } catch {
                throw embedded.error("table", "\(error)")
            }
            return .embeddedCube(source: source, table: table)
        }
        guard let s = try r.text("look") else { return .none }
        switch s {
        case "none": return .none
        case "natural": return .natural
        case "punchy": return .punchy
        default:
            guard s.lowercased().hasSuffix(".cube"), s.count > 5, !s.contains("\0") else {
                throw r.error("look", "\"\(s)\" is not none, natural, punchy or a path ending in .cube")
            }
            return .cube(path: s)
        }
    }

    /// Absent, `none` or null ⇒ nil.
    static func optionalMapping(_ r: inout RecipeReader, _ key: String) throws(ImagingError) -> RecipeReader? {
        guard let node = r.node(key) else { return nil }
        if case .string("none") = node.value { return nil }
        return try RecipeReader(node, path: r.keyPath(key), source: r.source)
    }

    static func sharpen(_ r: inout RecipeReader) throws(ImagingError) -> Recipe.Sharpen? {
        guard var s = try optionalMapping(&r, "sharpen") else { return nil }
        var p = Recipe.Sharpen()
        p.radius = try s.number("radius", default: p.radius, range: Recipe.Sharpen.radiusRange)
        p.amount = try s.number("amount", default: p.amount, range: Recipe.Sharpen.amountRange)
        p.threshold = try s.number("threshold", default: p.threshold, range: Recipe.Sharpen.thresholdRange)
        try s.finish()
        return p
    }

    static func resize(_ r: inout RecipeReader) throws(ImagingError) -> Recipe.Resize? {
        guard var s = try optionalMapping(&r, "resize") else { return nil }
        let forms = s.keys.filter { $0 == "longEdge" || $0 == "megapixels" }
        guard forms.count == 1 else {
            throw .invalidRecipe(source: RecipeDocument.place(r.source, s.node.location), key: s.path,
                                 reason: "give exactly one of longEdge, megapixels")
        }
        let result: Recipe.Resize
        if forms[0] == "longEdge" {
            result = .longEdge(try s.integer("longEdge", default: nil, range: Recipe.Resize.longEdgeRange)!)
        } else {
            result = .megapixels(try s.number("megapixels", default: 1, range: Recipe.Resize.megapixelsRange))
        }
        try s.finish()
        return result
    }

    static func crop(_ r: inout RecipeReader) throws(ImagingError) -> Recipe.Crop? {
        guard var c = try optionalMapping(&r, "crop") else { return nil }
        let result: Recipe.Crop
        if c.has("aspect") {
            let text = try c.text("aspect") ?? ""
            guard let ratio = parseAspect(text) else { throw c.error("aspect", "\"\(text)\" is not W:H with 0 < W, H ≤ 100 (e.g. \"3:2\")") }
            result = .aspect(width: ratio.0, height: ratio.1)
        } else {
            var values: [Int] = []
            for (key, range) in [("x", 0...65535), ("y", 0...65535), ("width", 1...65535), ("height", 1...65535)] {
                guard c.has(key) else { throw c.error(key, "missing (crop needs x, y, width, height — or aspect)") }
                values.append(try c.integer(key, default: nil, range: range)!)
            }
            result = .rect(x: values[0], y: values[1], width: values[2], height: values[3])
        }
        try c.finish()
        return result
    }

    static func parseAspect(_ text: String) -> (Double, Double)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let w = Double(parts[0].trimmingCharacters(in: .whitespaces)),
            let h = Double(parts[1].trimmingCharacters(in: .whitespaces)),
            w.isFinite, h.isFinite, w > 0, h > 0, w <= 100, h <= 100
        else { return nil }
        return (w, h)
    }

    static func output(_ o: inout RecipeReader) throws(ImagingError) -> Recipe.Output {
        var out = Recipe.Output()
        if var j = try o.mapping("jpeg") {
            out.jpegQuality = try j.integer("quality", default: out.jpegQuality, range: 1...100)!
            out.jpegSubsampling = try j.choice("subsampling", default: out.jpegSubsampling)
            try j.finish()
        }
        if var p = try o.mapping("png") {
            out.pngBitDepth = try p.integer("bitDepth", default: out.pngBitDepth, range: 8...16)!
            guard out.pngBitDepth == 8 || out.pngBitDepth == 16 else { throw p.error("bitDepth", "\(out.pngBitDepth) is not 8 or 16") }
            try p.finish()
        }
        if var t = try o.mapping("tiff") {
            out.tiffCompression = try t.choice("compression", default: out.tiffCompression)
            try t.finish()
        }
        if let naming = try o.text("naming") {
            if let problem = OutputNaming.problem(in: naming) { throw o.error("naming", problem) }
            out.naming = naming
        }
        try o.finish()
        return out
    }

    // MARK: Version 1 (migrated)

    static func versionOne(_ r: inout RecipeReader) throws(ImagingError) -> Recipe {
        var recipe = Recipe(name: try name(&r), demosaic: .fast)
        guard try r.text("demosaic") ?? "mhc" == "mhc" else { throw r.error("demosaic", "version 1 knows only \"mhc\"") }
        guard try r.text("whiteBalance") ?? "asShot" == "asShot" else { throw r.error("whiteBalance", "version 1 knows only \"asShot\"") }
        recipe.tone.exposure = try r.number("exposureEV", default: 0, range: Recipe.Tone.exposureRange)
        if var o = try r.mapping("output") {
            recipe.output.jpegQuality = try o.integer("jpegQuality", default: 92, range: 1...100)!
            recipe.output.jpegSubsampling = try o.choice("jpegSubsampling", default: Recipe.ChromaSubsampling.s444)
            recipe.output.pngBitDepth = try o.integer("pngBitDepth", default: 16, range: 8...16)!
            guard recipe.output.pngBitDepth == 8 || recipe.output.pngBitDepth == 16 else {
                throw o.error("pngBitDepth", "\(recipe.output.pngBitDepth) is not 8 or 16")
            }
            try o.finish()
        }
        try r.finish()
        return recipe
    }
}

extension Recipe {
    /// The canonical tree: every field present, optionals as null, enums as their YAML words.
    var canonicalValue: CanonicalJSON.Value {
        typealias V = CanonicalJSON.Value
        let wb: V =
            switch whiteBalance {
            case .asShot: .object([("mode", .string("asShot"))])
            case .auto: .object([("mode", .string("auto"))])
            case .preset(let p): .object([("preset", .string(p.rawValue))])
            case .kelvin(let t, let tint): .object([("kelvin", .object([("temperature", .number(t)), ("tint", .number(tint))]))])
            }
        let curve: V =
            switch tone.curve {
            case .none: .object([("type", .string("none"))])
            case .srgb: .object([("type", .string("srgb"))])
            case .filmic(let f):
                .object([("type", .string("filmic")), ("whitePoint", .number(f.whitePoint)), ("blackPoint", .number(f.blackPoint)),
                         ("contrast", .number(f.contrast))])
            }
        let look: V =
            switch self.look {
            case .none: .string("none")
            case .natural: .string("natural")
            case .punchy: .string("punchy")
            case .cube(let path): .string(path)
            case .embeddedCube(let source, let table): .object([("cube", .string(source)), ("table", .string(table))])
            }
        let sharpen: V = self.sharpen.map {
            .object([("radius", .number($0.radius)), ("amount", .number($0.amount)), ("threshold", .number($0.threshold))])
        } ?? .null
        let resize: V =
            switch self.resize {
            case nil: .null
            case .longEdge(let n): .object([("longEdge", .integer(Int64(n)))])
            case .megapixels(let mp): .object([("megapixels", .number(mp))])
            }
        let crop: V =
            switch self.crop {
            case nil: .null
            case .rect(let x, let y, let w, let h):
                .object([("x", .integer(Int64(x))), ("y", .integer(Int64(y))), ("width", .integer(Int64(w))), ("height", .integer(Int64(h)))])
            case .aspect(let w, let h):
                .object([("aspect", .string("\(CanonicalJSON.numberText(w)):\(CanonicalJSON.numberText(h))"))])
            }
        return .object([
            ("version", .integer(Int64(version))),
            ("name", .string(name)),
            ("demosaic", .string(demosaic.rawValue)),
            ("whiteBalance", wb),
            ("color", .object([("outputSpace", .string(color.outputSpace.rawValue))])),
            ("tone", .object([
                ("exposure", .number(tone.exposure)), ("highlights", .string(tone.highlights.rawValue)),
                ("contrast", .number(tone.contrast)), ("saturation", .number(tone.saturation)),
                ("vibrance", .number(tone.vibrance)), ("curve", curve),
            ])),
            ("look", look),
            ("sharpen", sharpen),
            ("resize", resize),
            ("crop", crop),
            ("output", .object([
                ("jpeg", .object([("quality", .integer(Int64(output.jpegQuality))), ("subsampling", .string(output.jpegSubsampling.rawValue))])),
                ("png", .object([("bitDepth", .integer(Int64(output.pngBitDepth)))])),
                ("tiff", .object([("compression", .string(output.tiffCompression.rawValue))])),
                ("naming", .string(output.naming)),
            ])),
        ])
    }
}

extension CanonicalJSON {
    /// A canonical value as a position-less ``RecipeNode`` (for ``Recipe/validate()``).
    static func tree(_ value: Value) -> RecipeNode {
        switch value {
        case .null: RecipeNode(value: .null, text: "null", location: nil)
        case .bool(let b): RecipeNode(value: .bool(b), text: b ? "true" : "false", location: nil)
        case .integer(let i): RecipeNode(value: .integer(i), text: String(i), location: nil)
        case .number(let d): RecipeNode(value: .number(d), text: numberText(d), location: nil)
        case .string(let s): RecipeNode(value: .string(s), text: s, location: nil)
        case .array(let items): RecipeNode(value: .sequence(items.map(tree)), text: nil, location: nil)
        case .object(let members):
            RecipeNode(value: .mapping(members.map { .init(key: $0.0, keyLocation: nil, node: tree($0.1)) }), text: nil, location: nil)
        }
    }
}
