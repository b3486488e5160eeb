import sharp from 'sharp';
import { randomInt, type Random } from './random';

/** Uncompressed pixels, ready for sharp's `raw` input. */
export interface Raster {
  readonly data: Buffer;
  readonly width: number;
  readonly height: number;
  readonly channels: 3 | 4;
}

type Rgb = readonly [number, number, number];

const clampByte = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);
const randomRgb = (random: Random, min = 0, max = 255): Rgb => [randomInt(random, min, max), randomInt(random, min, max), randomInt(random, min, max)];
const css = ([r, g, b]: Rgb) => `rgb(${r},${g},${b})`;

/** Random values on a coarse grid, upsampled smoothly: structure at one spatial frequency. */
async function smoothField(random: Random, cols: number, rows: number, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  const grid = Buffer.alloc(cols * rows * channels);
  for (let i = 0; i < grid.length; i++) grid[i] = Math.floor(random() * 256);
  return sharp(grid, { raw: { width: cols, height: rows, channels } })
    .resize(width, height, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer();
}

/** Soft blobs (foliage, bokeh) and hard-edged tilted blocks (buildings, objects) as an RGBA layer. */
function objectsSvg(random: Random, width: number, height: number, count: number): Buffer {
  let defs = '';
  let body = '';
  for (let i = 0; i < count; i++) {
    const cx = Math.round(random() * width);
    const cy = Math.round(height * (0.3 + random() * 0.7));
    if (random() < 0.6) {
      defs += `<radialGradient id="b${i}"><stop offset="0" stop-color="${css(randomRgb(random, 20, 230))}" stop-opacity="${(0.5 + random() * 0.4).toFixed(2)}"/><stop offset="1" stop-color="${css(randomRgb(random, 20, 230))}" stop-opacity="0"/></radialGradient>`;
      body += `<ellipse cx="${cx}" cy="${cy}" rx="${Math.round(width * (0.02 + random() * 0.2))}" ry="${Math.round(height * (0.02 + random() * 0.2))}" fill="url(#b${i})"/>`;
    } else {
      const w = Math.round(width * (0.03 + random() * 0.15));
      const h = Math.round(height * (0.05 + random() * 0.3));
      const angle = ((random() - 0.5) * 30).toFixed(1);
      body += `<rect x="${cx - w / 2}" y="${cy - h}" width="${w}" height="${h}" fill="${css(randomRgb(random, 30, 200))}" fill-opacity="${(0.55 + random() * 0.4).toFixed(2)}" transform="rotate(${angle} ${cx} ${cy})"/>`;
    }
  }
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><defs>${defs}</defs>${body}</svg>`);
}

/**
 * A landscape-like photo: sky and ground gradients split by a wavy horizon, textures at three
 * scales, objects, and sensor grain. The grain is what makes it compress like a real photo.
 */
export async function synthesizePhoto(random: Random, width: number, height: number, grain: number): Promise<Raster> {
  const [tint, mid, fine, objects] = await Promise.all([
    smoothField(random, 5, 4, width, height, 3),
    smoothField(random, Math.max(2, Math.round(width / 60)), Math.max(2, Math.round(height / 60)), width, height, 1),
    smoothField(random, Math.max(2, Math.round(width / 8)), Math.max(2, Math.round(height / 8)), width, height, 1),
    sharp(objectsSvg(random, width, height, randomInt(random, 10, 24))).ensureAlpha().raw().toBuffer(),
  ]);
  const skyTop = randomRgb(random, 60, 160);
  const skyLow = randomRgb(random, 150, 250);
  const groundTop = randomRgb(random, 60, 170);
  const groundLow = randomRgb(random, 10, 90);

  const horizon = new Float64Array(width);
  const base = height * (0.3 + random() * 0.3);
  const waves = Array.from({ length: 3 }, (_, k) => ({ amp: height * 0.04 * random() / (k + 1), freq: (k + 1) * (1 + random() * 3), phase: random() * 6.28 }));
  for (let x = 0; x < width; x++) {
    horizon[x] = base + waves.reduce((sum, w) => sum + w.amp * Math.sin((w.freq * 6.28 * x) / width + w.phase), 0);
  }

  const out = Buffer.alloc(width * height * 3);
  for (let y = 0, p = 0, q = 0; y < height; y++) {
    for (let x = 0; x < width; x++, p += 3, q += 4) {
      const h = horizon[x] as number;
      const sky = y < h;
      const t = sky ? y / h : (y - h) / (height - h);
      const from = sky ? skyTop : groundTop;
      const to = sky ? skyLow : groundLow;
      const texture = sky ? ((mid[q >> 2] as number) - 128) * 0.12 : ((mid[q >> 2] as number) - 128) * 0.45 + ((fine[q >> 2] as number) - 128) * 0.3;
      const alpha = (objects[q + 3] as number) / 255;
      const noise = (random() + random() - 1) * grain;
      for (let k = 0; k < 3; k++) {
        const gradient = (from[k] as number) + ((to[k] as number) - (from[k] as number)) * t;
        const v = gradient * 0.75 + (tint[p + k] as number) * 0.25 + texture;
        out[p + k] = clampByte(v * (1 - alpha) + (objects[q + k] as number) * alpha + noise);
      }
    }
  }
  return { data: out, width, height, channels: 3 };
}

/** Rows of short dark bars: what text looks like to an encoder. */
function textLines(random: Random, x: number, y: number, w: number, h: number, lineHeight: number): string {
  let svg = '';
  for (let ly = y + lineHeight; ly < y + h - lineHeight; ly += lineHeight) {
    for (let lx = x + 10; lx < x + w - 40; ) {
      const word = randomInt(random, 12, 70);
      svg += `<rect x="${lx}" y="${ly}" width="${Math.min(word, x + w - 10 - lx)}" height="${Math.round(lineHeight * 0.5)}" fill="#3a3a3a"/>`;
      lx += word + randomInt(random, 5, 9);
    }
  }
  return svg;
}

/**
 * An application-window screenshot: flat panels, text, buttons, a chart and an embedded photo.
 * With `transparent`, the window floats on a transparent backdrop with a soft shadow (RGBA).
 */
export async function synthesizeScreenshot(random: Random, width: number, height: number, transparent: boolean): Promise<Raster> {
  const margin = transparent ? Math.round(width * 0.04) : 0;
  const winW = width - 2 * margin;
  const winH = height - 2 * margin;
  const bar = Math.round(height * 0.05);
  const side = Math.round(width * 0.16);
  const accent = css(randomRgb(random, 40, 220));
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`;
  if (transparent) svg += `<rect x="${margin + 8}" y="${margin + 12}" width="${winW}" height="${winH}" rx="14" fill="#000" fill-opacity="0.28"/>`;
  svg += `<rect x="${margin}" y="${margin}" width="${winW}" height="${winH}" rx="${transparent ? 12 : 0}" fill="${css(randomRgb(random, 225, 250))}"/>`;
  svg += `<rect x="${margin}" y="${margin}" width="${winW}" height="${bar}" fill="${css(randomRgb(random, 30, 80))}"/>`;
  svg += `<rect x="${margin}" y="${margin + bar}" width="${side}" height="${winH - bar}" fill="${css(randomRgb(random, 40, 90))}"/>`;
  for (let i = 0, y = margin + bar + 20; i < 12 && y < margin + winH - 40; i++, y += 38) {
    svg += `<rect x="${margin + 16}" y="${y}" width="${randomInt(random, side / 3, side - 32)}" height="12" rx="3" fill="#d8d8e0" fill-opacity="0.8"/>`;
  }
  const content = { x: margin + side + 20, y: margin + bar + 20, w: winW - side - 40, h: winH - bar - 40 };
  for (let i = 0; i < 5; i++) {
    const w = Math.round(content.w * (0.25 + random() * 0.3));
    const h = Math.round(content.h * (0.15 + random() * 0.25));
    const x = content.x + Math.round(random() * (content.w - w));
    const y = content.y + Math.round(random() * (content.h - h));
    svg += `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="6" fill="#fff" stroke="#ccc"/>`;
    svg += textLines(random, x, y, w, h, 18);
    svg += `<rect x="${x + w - 110}" y="${y + h - 40}" width="96" height="28" rx="5" fill="${accent}"/>`;
  }
  const points = Array.from({ length: 40 }, (_, i) => `${content.x + 20 + i * (content.w / 50)},${content.y + content.h - 30 - random() * content.h * 0.25}`);
  svg += `<polyline points="${points.join(' ')}" fill="none" stroke="${accent}" stroke-width="3"/></svg>`;

  const photoW = Math.round(content.w * 0.35);
  const photoH = Math.round(content.h * 0.4);
  const photo = await synthesizePhoto(random, photoW, photoH, 14);
  const composed = sharp(Buffer.from(svg))
    .ensureAlpha()
    .composite([{ input: photo.data, raw: { width: photoW, height: photoH, channels: 3 }, left: content.x + content.w - photoW, top: content.y + content.h - photoH }]);
  const data = transparent ? await composed.raw().toBuffer() : await sharp(await composed.png().toBuffer()).removeAlpha().raw().toBuffer();
  return { data, width, height, channels: transparent ? 4 : 3 };
}
