// CImageCodecs: PNG decode/encode and JPEG decode from memory, for Swift.
//
// libpng reports errors by longjmp and libjpeg's default handler calls exit(): both are caught here with
// setjmp inside C, so no long jump ever crosses a Swift frame. Every function returns a CIC_* status; on
// failure `message` holds a NUL-terminated reason (from the codec when it gave one).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CIC_OK = 0,
    CIC_ERR_CORRUPT = 1,      // malformed, truncated or failed a checksum
    CIC_ERR_UNSUPPORTED = 2,  // valid file in a form we do not convert (e.g. 12-bit JPEG, unknown colour space)
    CIC_ERR_TOO_LARGE = 3,    // larger than CIC_MAX_SIDE or CIC_MAX_PIXELS
    CIC_ERR_NO_MEMORY = 4,
    CIC_ERR_ARGUMENT = 5      // bad arguments from the caller (null pointer, zero size)
};

// Refuse images beyond these limits before allocating (a corrupt header must not ask for gigabytes).
#define CIC_MAX_SIDE 16384
#define CIC_MAX_PIXELS (1 << 26)
#define CIC_MESSAGE_CAPACITY 256

// A decoded image: `pixels` is 8-bit RGB interleaved, row-major, width·height·3 bytes, malloc'd: release it
// with cic_free.
typedef struct {
    uint8_t *pixels;
    int width;
    int height;
} cic_image;

// Decodes any PNG (gray, gray+alpha, palette, RGB, RGBA; 1–16 bits; interlaced or not) to 8-bit RGB.
// Palette and low-bit gray are expanded, 16-bit samples are scaled to 8 bits with rounding, gray is
// replicated to R=G=B, and alpha (including tRNS transparency) is dropped: the stored colour is kept as is,
// not composited on any background.
int cic_png_decode(const uint8_t *data, size_t size, cic_image *out, char message[CIC_MESSAGE_CAPACITY]);

// Encodes 8-bit RGB (width·height·3 bytes) as a non-interlaced 8-bit RGB PNG. On success `*out_bytes` is a
// malloc'd buffer of `*out_size` bytes: release it with cic_free.
int cic_png_encode_rgb(const uint8_t *pixels, int width, int height, uint8_t **out_bytes, size_t *out_size,
                       char message[CIC_MESSAGE_CAPACITY]);

// Decodes a baseline or progressive 8-bit JPEG to 8-bit RGB. YCbCr and RGB convert through libjpeg,
// grayscale is replicated to R=G=B, CMYK/YCCK convert as R = (255−C)·(255−K)/255 (as PIL does; Adobe
// inverted CMYK is detected). A truncated file is an error (libjpeg would otherwise pad it with grey).
// EXIF orientation is not applied.
int cic_jpeg_decode(const uint8_t *data, size_t size, cic_image *out, char message[CIC_MESSAGE_CAPACITY]);

void cic_free(void *pointer);

#ifdef __cplusplus
}
#endif
