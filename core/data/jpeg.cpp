#include "data/jpeg.h"
#include "data/limits.h"

// jpeglib.h needs FILE and size_t declared first.
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jerror.h>
#include <jpeglib.h>

#include "util/error.h"

#ifndef JCS_EXTENSIONS
#error "Dilute needs libjpeg-turbo (JCS_EXT_RGB); install libjpeg62-turbo-dev"
#endif

namespace dilute::data {
namespace {

struct ErrorManager {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    bool premature_end;
};

void onError(j_common_ptr c) {
    auto* e = reinterpret_cast<ErrorManager*>(c->err);
    c->err->format_message(c, e->message);
    std::longjmp(e->jump, 1);
}

// Warnings (level -1) are counted, not printed: libjpeg carries on after corrupt entropy data the
// way OpenCV does. A premature end of data is the one we refuse (see the end-marker check too).
void onMessage(j_common_ptr c, int level) {
    if (level >= 0) return;
    auto* e = reinterpret_cast<ErrorManager*>(c->err);
    if (c->err->msg_code == JWRN_JPEG_EOF) e->premature_end = true;
    ++c->err->num_warnings;
}

// Owns the decompressor for every way out of decodeJpeg (return, throw, or the error jump).
struct Decompressor {
    jpeg_decompress_struct ci{};
    ErrorManager err{};
    Decompressor() {
        ci.err = jpeg_std_error(&err.pub);
        err.pub.error_exit = onError;
        err.pub.emit_message = onMessage;
    }
    ~Decompressor() { jpeg_destroy_decompress(&ci); }
};

}  // namespace

bool looksLikeJpeg(const uint8_t* data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

int exifOrientation(const uint8_t* p, size_t n) {
    static const uint8_t kExif[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (n < 6 + 8 || std::memcmp(p, kExif, 6) != 0) return 1;
    const uint8_t* t = p + 6;  // TIFF header
    const size_t tn = n - 6;
    bool le;
    if (t[0] == 'I' && t[1] == 'I')
        le = true;
    else if (t[0] == 'M' && t[1] == 'M')
        le = false;
    else
        return 1;
    auto u16 = [&](size_t o) -> unsigned { return le ? t[o] | (t[o + 1] << 8) : (t[o] << 8) | t[o + 1]; };
    auto u32 = [&](size_t o) -> size_t {
        return le ? u16(o) | (size_t(u16(o + 2)) << 16) : (size_t(u16(o)) << 16) | u16(o + 2);
    };
    const size_t ifd = u32(4);
    if (ifd + 2 > tn) return 1;
    const unsigned entries = u16(ifd);
    for (unsigned k = 0; k < entries; ++k) {
        const size_t e = ifd + 2 + 12 * size_t(k);
        if (e + 12 > tn) return 1;
        if (u16(e) == 0x0112) {  // Orientation, type SHORT: the value sits in the first 2 bytes
            const unsigned v = u16(e + 8);
            return v >= 1 && v <= 8 ? int(v) : 1;
        }
    }
    return 1;
}

bool decodeJpeg(const uint8_t* data, size_t size, const std::string& name, const RowChooser& choose, ImageU8& out) {
    out = ImageU8{};
    Decompressor d;
    jpeg_decompress_struct& ci = d.ci;
    // Nothing with a destructor is created between here and the libjpeg calls that may jump back.
    if (setjmp(d.err.jump)) throw Error(name + ": cannot decode JPEG (" + d.err.message + ")");
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
    jpeg_save_markers(&ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&ci, TRUE);
    // Before any decoding, and before handing CMYK / rotated files to OpenCV: a header that
    // promises a huge image is refused here (a 445-byte file can claim 30000x30000).
    checkImageSize(name, int64_t(ci.image_width), int64_t(ci.image_height));
    if (ci.jpeg_color_space == JCS_CMYK || ci.jpeg_color_space == JCS_YCCK) return false;
    for (jpeg_saved_marker_ptr m = ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && exifOrientation(m->data, m->data_length) != 1) return false;
    // A complete file has its end-of-image marker after the first scan (entropy-coded data never
    // contains FF D9). Checked up front so a truncated file is refused whichever rows are asked for.
    const size_t scan = size - ci.src->bytes_in_buffer;
    bool complete = false;
    for (size_t k = size; k >= scan + 2 && !complete; --k) complete = data[k - 2] == 0xFF && data[k - 1] == 0xD9;
    if (!complete) throw Error(name + ": truncated JPEG (the data ends before the end-of-image marker)");

    ci.out_color_space = JCS_EXT_RGB;
    jpeg_start_decompress(&ci);
    const int W = int(ci.output_width), H = int(ci.output_height);
    int first = 0, count = H;
    if (choose) {
        const auto band = choose(W, H);
        first = std::clamp(band.first, 0, H - 1);
        count = std::clamp(band.second, 1, H - first);
    }
    out.width = W;
    out.height = count;
    out.channels = 3;
    out.top = first;
    out.full_height = H;
    out.pixels.resize(size_t(W) * count * 3);
    if (first > 0) jpeg_skip_scanlines(&ci, JDIMENSION(first));
    while (int(ci.output_scanline) < first + count) {
        JSAMPROW row = out.pixels.data() + size_t(int(ci.output_scanline) - first) * W * 3;
        jpeg_read_scanlines(&ci, &row, 1);
    }
    if (first + count < H)
        jpeg_abort_decompress(&ci);  // the rows below the band are never decoded
    else
        jpeg_finish_decompress(&ci);
    if (d.err.premature_end) throw Error(name + ": truncated JPEG (premature end of data)");
    return true;
}

}  // namespace dilute::data
