/* render/font.h — the built-in bitmap font of the text renderer: printable ASCII in 6 × 8
 * pixel cells (5 × 7 glyphs), laid out 16 to a row in a 96 × 48 single-channel atlas. */
#ifndef NNXR_RENDER_FONT_H
#define NNXR_RENDER_FONT_H

#include <stdbool.h>
#include <stdint.h>

#define NNXR_FONT_FIRST 32u
#define NNXR_FONT_GLYPHS 95u
#define NNXR_FONT_CELL_W 6u
#define NNXR_FONT_CELL_H 8u
#define NNXR_FONT_COLS 16u
#define NNXR_FONT_ATLAS_W (NNXR_FONT_COLS * NNXR_FONT_CELL_W)
#define NNXR_FONT_ATLAS_H (((NNXR_FONT_GLYPHS + NNXR_FONT_COLS - 1) / NNXR_FONT_COLS) * NNXR_FONT_CELL_H)

/* Fills an NNXR_FONT_ATLAS_W × NNXR_FONT_ATLAS_H R8 image (255 = ink). */
void nnxr_font_rasterize(uint8_t *pixels);

/* Whether pixel (x, y) of character c's glyph (5 × 7, top row 0) is ink (tests use it). */
bool nnxr_font_ink(unsigned char c, uint32_t x, uint32_t y);

#endif
