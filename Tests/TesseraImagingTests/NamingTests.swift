import Testing
import TesseraImaging

@Suite struct NamingTests {
    static let frame = NamingFields(
        stem: "IMG_0042", sequence: 7, recipe: "studio-portrait", recipeHash: "0123456789abcdef", make: "Canon",
        model: "Canon EOS R5", lens: "RF50mm F1.2 L USM", iso: 399.6, dateTimeOriginal: "2024:06:01 14:03:27")

    @Test(arguments: [
        ("{stem}", "IMG_0042"),
        ("{seq}", "7"),
        ("{seq:04}", "0007"),
        ("{seq:1}", "7"),
        ("{date}", "20240601"),
        ("{date:yyyy-MM-dd_HHmmss}", "2024-06-01_140327"),
        ("{date:yy}{stem}", "24IMG_0042"),
        ("{camera}", "Canon_EOS_R5"),
        ("{make}-{model}", "Canon-Canon_EOS_R5"),
        ("{lens}", "RF50mm_F1.2_L_USM"),
        ("{iso}", "400"),
        ("{recipe}_{hash}", "studio-portrait_01234567"),
        ("{date:yyyyMMdd}_{camera}_{seq:04}", "20240601_Canon_EOS_R5_0007"),
        ("{{{stem}}}", "{IMG_0042}"),
        ("print {stem} final", "print IMG_0042 final"),
    ])
    func rendersPlaceholders(template: String, expected: String) throws {
        #expect(try OutputNaming.render(template: template, frame: Self.frame) == expected)
    }

    @Test func unknownValuesAndCameraJoining() throws {
        let bare = NamingFields(stem: "a", sequence: 12)
        #expect(try OutputNaming.render(template: "{camera}_{lens}_{iso}_{date}_{recipe}", frame: bare) == "unknown_unknown_unknown_undated_unknown")
        let nikon = NamingFields(stem: "a", make: "Nikon", model: "Z 8")
        #expect(try OutputNaming.render(template: "{camera}", frame: nikon) == "Nikon_Z_8")
        #expect(try OutputNaming.render(template: "{seq:03}", frame: bare) == "012")
        #expect(try OutputNaming.render(template: "{seq:2}", frame: NamingFields(stem: "a", sequence: 12345)) == "12345")
    }

    /// Metadata is untrusted: whatever a camera (or an attacker's file) puts in Make/Model/Lens,
    /// the name stays one component inside the output directory.
    @Test func hostileMetadataCannotEscapeTheOutputDirectory() throws {
        let hostile = ["../../etc/passwd", "..", ".", "/", "a/b\\c", "x\ny", "\u{0}evil", "tab\there", "\u{2028}", ".hidden", "C:\\x", "a|b>c"]
        for value in hostile {
            let fields = NamingFields(stem: value, sequence: 1, recipe: value, make: value, model: value, lens: value)
            for template in ["{stem}", "{camera}", "{make}{model}", "{lens}", "{recipe}", "{stem}.{stem}"] {
                let name = try OutputNaming.render(template: template, frame: fields)
                #expect(!name.isEmpty && !name.contains("/") && !name.contains("\\") && !name.hasPrefix("."), "\(value.debugDescription) → \(name.debugDescription)")
                #expect(name != ".." && name != ".")
                #expect(!name.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{2028}" }, "\(name.debugDescription)")
            }
        }
        let long = NamingFields(stem: String(repeating: "é", count: 500))
        let name = try OutputNaming.render(template: "{stem}", frame: long)
        #expect(name.utf8.count <= OutputNaming.maxLength && name.utf8.count >= OutputNaming.maxLength - 1 && name.allSatisfy { $0 == "é" })
    }

    @Test(arguments: [
        ("", "empty"),
        ("photos/{stem}", "'/'"),
        ("..\\{stem}", "'/'"),
        ("{stem", "unclosed"),
        ("stem}", "unmatched"),
        ("{shutter}", "unknown placeholder"),
        ("{seq:abc}", "width"),
        ("{seq:99}", "width"),
        ("{stem:04}", "takes no format"),
        ("{date:yyyy/MM}", "file-name safe"),
        ("final", "no placeholder"),
        ("a\u{7}{stem}", "control"),
    ])
    func badTemplatesAreRefused(template: String, reason: String) {
        do {
            try OutputNaming.validate(template: template)
            Issue.record("accepted \(template.debugDescription)")
        } catch {
            guard case .invalidSettings(let field, let why) = error else { Issue.record("\(error)"); return }
            #expect(field == "naming" && why.contains(reason), "\(template.debugDescription): \(why)")
        }
        #expect(throws: ImagingError.self) { try OutputNaming.render(template: template, frame: Self.frame) }
    }

    @Test func fieldsFromAFrame() throws {
        let info = RawFrameInfo(width: 2, height: 2, cfa: .rggb, blackLevels: [0, 0, 0, 0], whiteLevel: 1, asShotMultipliers: [1, 1, 1],
                                cameraToSRGB: Matrix3([1, 0, 0, 0, 1, 0, 0, 0, 1]), make: "Sony", model: "ILCE-7RM5", iso: 100,
                                dateTimeOriginal: "2022:01:02 03:04:05")
        let fields = NamingFields(stem: "DSC01", sequence: 3, recipe: .neutral, info: info)
        #expect(fields.recipe == "neutral" && fields.recipeHash == Recipe.neutral.hash)
        #expect(try OutputNaming.render(template: "{date:yyyyMMdd-HHmmss}_{camera}_{iso}_{recipe}", frame: fields) == "20220102-030405_Sony_ILCE-7RM5_100_neutral")
    }
}
