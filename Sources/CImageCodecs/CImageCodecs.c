// PNG/JPEG codecs behind setjmp: see include/CImageCodecs.h for the contract.
#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <jpeglib.h>
#include <jerror.h>  // JWRN_JPEG_EOF

static void set_message(char *message, const char *text) {
    if (message == NULL) return;
    snprintf(message, CIC_MESSAGE_CAPACITY, "%s", text);
}

// Checks the size limits; returns CIC_OK or CIC_ERR_TOO_LARGE with a message.
static int check_size(unsigned long width, unsigned long height, char *message) {
    if (width == 0 || height == 0) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "image has a zero dimension (%lux%lu)", width, height);
        return CIC_ERR_CORRUPT;
    }
    if (width > CIC_MAX_SIDE || height > CIC_MAX_SIDE || width * height > (unsigned long)CIC_MAX_PIXELS) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "image is %lux%lu, beyond the %dx%d / %d-pixel limit",
                 width, height, CIC_MAX_SIDE, CIC_MAX_SIDE, CIC_MAX_PIXELS);
        return CIC_ERR_TOO_LARGE;
    }
    return CIC_OK;
}

void cic_free(void *pointer) { free(pointer); }

// MARK: - PNG decode

typedef struct {
    jmp_buf jump;
    int status;  // returned after a long jump
    char *message;
    const uint8_t *data;
    size_t size;
    size_t offset;
    // Owned allocations live here (not in locals) so they survive the longjmp and can be freed.
    uint8_t *pixels;
    png_bytep *rows;
} png_read_context;

static void png_error_handler(png_structp png, png_const_charp text) {
    png_read_context *ctx = (png_read_context *)png_get_error_ptr(png);
    set_message(ctx->message, text);
    longjmp(ctx->jump, 1);
}

// Warnings (e.g. a bad ancillary-chunk CRC) are recoverable: stay silent rather than print to stderr.
static void png_warning_handler(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_from_memory(png_structp png, png_bytep dest, png_size_t length) {
    png_read_context *ctx = (png_read_context *)png_get_io_ptr(png);
    if (length > ctx->size - ctx->offset) {
        png_error(png, "file is truncated (data ends before the image is complete)");
    }
    memcpy(dest, ctx->data + ctx->offset, length);
    ctx->offset += length;
}

int cic_png_decode(const uint8_t *data, size_t size, cic_image *out, char message[CIC_MESSAGE_CAPACITY]) {
    if (data == NULL || out == NULL || size == 0) {
        set_message(message, "no data");
        return CIC_ERR_ARGUMENT;
    }
    out->pixels = NULL;
    out->width = 0;
    out->height = 0;
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_message(message, "not a PNG (bad signature)");
        return CIC_ERR_CORRUPT;
    }
    png_read_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.status = CIC_ERR_CORRUPT;
    ctx.message = message;
    ctx.data = data;
    ctx.size = size;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_error_handler, png_warning_handler);
    if (png == NULL) {
        set_message(message, "out of memory creating the PNG reader");
        return CIC_ERR_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_message(message, "out of memory creating the PNG reader");
        return CIC_ERR_NO_MEMORY;
    }
    // State that must survive the long jump lives in `ctx` (memory), not in registers.
    if (setjmp(ctx.jump)) {
        free(ctx.rows);
        free(ctx.pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return ctx.status;
    }
    png_set_read_fn(png, &ctx, png_read_from_memory);
    // Lift libpng's own 1,000,000-pixel side limit so oversize images reach check_size and get its
    // clearer "too large" status instead of a generic IHDR error.
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);

    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int size_status = check_size(width, height, message);
    if (size_status != CIC_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return size_status;
    }
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);

    // Normalise every format to 8-bit RGB.
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_scale_16(png);
    // Alpha is dropped, including tRNS transparency (which palette expansion would turn into alpha).
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != (size_t)width * 3) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "unexpected PNG layout after conversion (%zu bytes per row for width %u)",
                 row_bytes, (unsigned)width);
        png_destroy_read_struct(&png, &info, NULL);
        return CIC_ERR_UNSUPPORTED;
    }
    ctx.pixels = (uint8_t *)malloc(row_bytes * height);
    ctx.rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (ctx.pixels == NULL || ctx.rows == NULL) {
        ctx.status = CIC_ERR_NO_MEMORY;
        png_error(png, "out of memory for the decoded image");
    }
    for (png_uint_32 y = 0; y < height; y++) ctx.rows[y] = ctx.pixels + (size_t)y * row_bytes;
    png_read_image(png, ctx.rows);
    // The trailing chunks are not read: a file missing only its IEND still has every pixel.

    free(ctx.rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = ctx.pixels;
    out->width = (int)width;
    out->height = (int)height;
    return CIC_OK;
}

// MARK: - PNG encode

typedef struct {
    jmp_buf jump;
    char *message;
    uint8_t *bytes;
    size_t size;
    size_t capacity;
} png_write_context;

static void png_write_error_handler(png_structp png, png_const_charp text) {
    png_write_context *ctx = (png_write_context *)png_get_error_ptr(png);
    set_message(ctx->message, text);
    longjmp(ctx->jump, 1);
}

static void png_write_to_memory(png_structp png, png_bytep src, png_size_t length) {
    png_write_context *ctx = (png_write_context *)png_get_io_ptr(png);
    if (length > ctx->capacity - ctx->size) {
        size_t capacity = ctx->capacity ? ctx->capacity : 4096;
        while (length > capacity - ctx->size) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(ctx->bytes, capacity);
        if (grown == NULL) png_error(png, "out of memory for the encoded PNG");
        ctx->bytes = grown;
        ctx->capacity = capacity;
    }
    memcpy(ctx->bytes + ctx->size, src, length);
    ctx->size += length;
}

static void png_flush_noop(png_structp png) { (void)png; }

int cic_png_encode_rgb(const uint8_t *pixels, int width, int height, uint8_t **out_bytes, size_t *out_size,
                       char message[CIC_MESSAGE_CAPACITY]) {
    if (pixels == NULL || out_bytes == NULL || out_size == NULL || width <= 0 || height <= 0) {
        set_message(message, "invalid arguments (null buffer or non-positive size)");
        return CIC_ERR_ARGUMENT;
    }
    *out_bytes = NULL;
    *out_size = 0;
    int size_status = check_size((unsigned long)width, (unsigned long)height, message);
    if (size_status != CIC_OK) return size_status;

    png_write_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.message = message;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, png_write_error_handler, png_warning_handler);
    if (png == NULL) {
        set_message(message, "out of memory creating the PNG writer");
        return CIC_ERR_NO_MEMORY;
    }
    png_infop info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        set_message(message, "out of memory creating the PNG writer");
        return CIC_ERR_NO_MEMORY;
    }
    if (setjmp(ctx.jump)) {
        free(ctx.bytes);
        png_destroy_write_struct(&png, &info);
        return CIC_ERR_NO_MEMORY;  // the only failure left once the arguments are valid
    }
    png_set_write_fn(png, &ctx, png_write_to_memory, png_flush_noop);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t row_bytes = (size_t)width * 3;
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + (size_t)y * row_bytes));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out_bytes = ctx.bytes;
    *out_size = ctx.size;
    return CIC_OK;
}

// MARK: - JPEG decode

typedef struct {
    struct jpeg_error_mgr base;  // first member: libjpeg hands back a pointer to it
    jmp_buf jump;
    int status;
    char *message;
    uint8_t *pixels;
    JSAMPLE *row;
} jpeg_error_context;

static void jpeg_error_exit(j_common_ptr cinfo) {
    jpeg_error_context *ctx = (jpeg_error_context *)cinfo->err;
    switch (cinfo->err->msg_code) {
    case JERR_BAD_PRECISION:       // e.g. 12-bit JPEG
    case JERR_CONVERSION_NOTIMPL:
    case JERR_NOT_COMPILED:        // e.g. arithmetic coding when built without it
    case JERR_NO_ARITH_TABLE:
        ctx->status = CIC_ERR_UNSUPPORTED;
        break;
    case JERR_OUT_OF_MEMORY:
        ctx->status = CIC_ERR_NO_MEMORY;
        break;
    default:
        break;
    }
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    set_message(ctx->message, text);
    longjmp(ctx->jump, 1);
}

// libjpeg treats running out of data as a warning and pads the image with grey; we make it an error so a
// truncated download is reported instead of silently training on grey pixels. Other warnings stay silent.
static void jpeg_emit_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpeg_error_context *ctx = (jpeg_error_context *)cinfo->err;
        set_message(ctx->message, "file is truncated (data ends before the image is complete)");
        longjmp(ctx->jump, 1);
    }
    if (level < 0) cinfo->err->num_warnings++;
}

static void jpeg_output_message_silent(j_common_ptr cinfo) { (void)cinfo; }

static inline uint8_t cmyk_channel(unsigned c, unsigned k, int adobe_inverted) {
    // Adobe writers store CMYK inverted (0 = full ink); normalise to ink amounts first.
    if (adobe_inverted) {
        c = 255 - c;
        k = 255 - k;
    }
    return (uint8_t)(((255 - c) * (255 - k) + 127) / 255);
}

int cic_jpeg_decode(const uint8_t *data, size_t size, cic_image *out, char message[CIC_MESSAGE_CAPACITY]) {
    if (data == NULL || out == NULL || size == 0) {
        set_message(message, "no data");
        return CIC_ERR_ARGUMENT;
    }
    out->pixels = NULL;
    out->width = 0;
    out->height = 0;

    // Zeroed so jpeg_destroy_decompress is safe even if jpeg_create_decompress itself fails.
    struct jpeg_decompress_struct cinfo;
    memset(&cinfo, 0, sizeof cinfo);
    jpeg_error_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.message = message;
    ctx.status = CIC_ERR_CORRUPT;
    cinfo.err = jpeg_std_error(&ctx.base);
    ctx.base.error_exit = jpeg_error_exit;
    ctx.base.emit_message = jpeg_emit_message;
    ctx.base.output_message = jpeg_output_message_silent;
    if (setjmp(ctx.jump)) {
        free(ctx.row);
        free(ctx.pixels);
        jpeg_destroy_decompress(&cinfo);
        return ctx.status;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);

    int size_status = check_size(cinfo.image_width, cinfo.image_height, message);
    if (size_status != CIC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return size_status;
    }
    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        snprintf(message, CIC_MESSAGE_CAPACITY, "unsupported JPEG colour space (libjpeg code %d, %d components)",
                 (int)cinfo.jpeg_color_space, cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return CIC_ERR_UNSUPPORTED;
    }
    jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != (cmyk ? 4 : 3)) {
        snprintf(message, CIC_MESSAGE_CAPACITY, "unexpected JPEG output with %d components", cinfo.output_components);
        jpeg_destroy_decompress(&cinfo);
        return CIC_ERR_UNSUPPORTED;
    }
    size_t width = cinfo.output_width;
    size_t height = cinfo.output_height;
    ctx.pixels = (uint8_t *)malloc(width * height * 3);
    ctx.row = (JSAMPLE *)malloc(width * (size_t)cinfo.output_components);
    if (ctx.pixels == NULL || ctx.row == NULL) {
        ctx.status = CIC_ERR_NO_MEMORY;
        set_message(message, "out of memory for the decoded image");
        longjmp(ctx.jump, 1);
    }
    int adobe_inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        uint8_t *dest = ctx.pixels + y * width * 3;
        if (cmyk) {
            JSAMPROW rows[1] = {ctx.row};
            jpeg_read_scanlines(&cinfo, rows, 1);
            for (size_t x = 0; x < width; x++) {
                const JSAMPLE *p = ctx.row + x * 4;
                dest[x * 3 + 0] = cmyk_channel(p[0], p[3], adobe_inverted);
                dest[x * 3 + 1] = cmyk_channel(p[1], p[3], adobe_inverted);
                dest[x * 3 + 2] = cmyk_channel(p[2], p[3], adobe_inverted);
            }
        } else {
            JSAMPROW rows[1] = {dest};
            jpeg_read_scanlines(&cinfo, rows, 1);
        }
    }
    jpeg_finish_decompress(&cinfo);
    free(ctx.row);
    jpeg_destroy_decompress(&cinfo);
    out->pixels = ctx.pixels;
    out->width = (int)width;
    out->height = (int)height;
    return CIC_OK;
}
