// Links libpng and libjpeg into every binary that uses ImageIO.
//
// The C shim (CImageCodecs) includes <png.h> and <jpeglib.h> textually, which does not carry the
// `link "png16"` / `link "jpeg"` directives of the CPNG/CJPEG module maps; those apply only to modules that
// import them. Importing both here makes the Swift compiler emit the autolink entries, so no linker
// settings are needed in Package.swift. Nothing else in ImageIO calls libpng/libjpeg directly.
import CJPEG
import CPNG
