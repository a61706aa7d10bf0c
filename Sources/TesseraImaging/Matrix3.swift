/// A 3×3 matrix of doubles in row-major order, for colour-space conversions.
public struct Matrix3: Hashable, Sendable, Codable {
    /// Row-major elements: `m[row * 3 + column]`.
    public var m: [Double]

    public init(_ rowMajor: [Double]) {
        precondition(rowMajor.count == 9, "Matrix3 needs nine elements")
        m = rowMajor
    }

    public static let identity = Matrix3([1, 0, 0, 0, 1, 0, 0, 0, 1])

    public subscript(row: Int, column: Int) -> Double {
        get { m[row * 3 + column] }
        set { m[row * 3 + column] = newValue }
    }

    public static func * (a: Matrix3, b: Matrix3) -> Matrix3 {
        var r = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                r[i * 3 + j] = a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j]
            }
        }
        return Matrix3(r)
    }

    /// `self · v`.
    public func apply(_ v: (Double, Double, Double)) -> (Double, Double, Double) {
        (m[0] * v.0 + m[1] * v.1 + m[2] * v.2,
         m[3] * v.0 + m[4] * v.1 + m[5] * v.2,
         m[6] * v.0 + m[7] * v.1 + m[8] * v.2)
    }

    public var determinant: Double {
        m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6])
    }

    /// The inverse, or nil when the matrix is singular.
    public var inverse: Matrix3? {
        let d = determinant
        guard abs(d) > 1e-12 else { return nil }
        let inv = [
            (m[4] * m[8] - m[5] * m[7]) / d, (m[2] * m[7] - m[1] * m[8]) / d, (m[1] * m[5] - m[2] * m[4]) / d,
            (m[5] * m[6] - m[3] * m[8]) / d, (m[0] * m[8] - m[2] * m[6]) / d, (m[2] * m[3] - m[0] * m[5]) / d,
            (m[3] * m[7] - m[4] * m[6]) / d, (m[1] * m[6] - m[0] * m[7]) / d, (m[0] * m[4] - m[1] * m[3]) / d,
        ]
        return Matrix3(inv)
    }

    /// Each row scaled so it sums to one (a white-balanced camera neutral then maps to output neutral).
    public var rowNormalized: Matrix3 {
        var r = m
        for i in 0..<3 {
            let s = r[i * 3] + r[i * 3 + 1] + r[i * 3 + 2]
            if abs(s) > 1e-12 { for j in 0..<3 { r[i * 3 + j] /= s } }
        }
        return Matrix3(r)
    }

    /// Linear sRGB (D65) → CIE XYZ (D65), IEC 61966-2-1.
    public static let srgbToXYZ = Matrix3([
        0.4124564, 0.3575761, 0.1804375,
        0.2126729, 0.7151522, 0.0721750,
        0.0193339, 0.1191920, 0.9503041,
    ])
    /// CIE XYZ (D65) → linear sRGB (D65).
    public static let xyzToSRGB = srgbToXYZ.inverse!
}
