"""AI providers behind one interface. `local` runs offline and says what it is: it finds
copies and near-copies (re-encodes, resizes), not meaning. Others (OpenAI) plug in here.

Measured on this kind of machine (ARCHITECTURE.md): a 16x16 "tiny image" survives
re-encoding (cosine >= 0.99) but not crops; hashed character 3-5-grams find near-copies of
text (0.95) but not paraphrases (0.41).
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Protocol

import numpy as np
from django.conf import settings
from PIL import Image, ImageFilter, ImageOps

IMAGE_DIM = 768  # 16 x 16 x RGB
TEXT_DIM = 512


class Provider(Protocol):
    name: str
    image_model: str
    text_model: str

    def image_embedding(self, image: Image.Image) -> np.ndarray: ...

    def text_embedding(self, text: str) -> np.ndarray: ...

    def describe_image(self, image: Image.Image) -> dict: ...

    def analyze(self, *, text: str, image_features: dict | None) -> dict: ...


def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return (vector / norm).astype(np.float32) if norm else vector.astype(np.float32)


_PRICE = re.compile(r"(?:[$€£]\s?\d[\d,.]*|\d[\d,.]*\s?(?:usd|eur|gbp|dollars?))", re.I)
_DISCOUNT = re.compile(
    r"(\d{1,2}\s?%\s?off|save\s+(?:up\s+to\s+)?[$€£]?\d+|\bsale\b|\bdiscount\b|\bdeal\b|"
    r"\bfree shipping\b|\bbogo\b|\bclearance\b|\bcoupon\b|\bpromo code\b)",
    re.I,
)
_CTA = re.compile(
    r"\b(shop now|buy now|order now|learn more|sign up|get started|book now|download|"
    r"subscribe|try (?:it )?free|get (?:yours|offer|the deal)|apply now|install now|watch more)\b",
    re.I,
)


class LocalProvider:
    """Offline features: tiny-image and character-n-gram vectors, colours, text rules."""

    name = "local"
    image_model = "local-tiny-image-16x16-v1"
    text_model = "local-char-3-5-gram-v1"
    limitations = (
        "Finds copies and near-copies (re-encodes, resizes), not meaning; crops and paraphrases escape it."
    )

    def image_embedding(self, image: Image.Image) -> np.ndarray:
        tiny = ImageOps.exif_transpose(image).convert("RGB").resize((16, 16), Image.Resampling.BOX)
        vector = np.asarray(tiny, dtype=np.float32).reshape(-1)
        return _normalised(vector - vector.mean())

    def text_embedding(self, text: str) -> np.ndarray:
        vector = np.zeros(TEXT_DIM, dtype=np.float32)
        normalised = " ".join(text.lower().split())
        for n in (3, 4, 5):
            for i in range(len(normalised) - n + 1):
                digest = hashlib.blake2b(normalised[i : i + n].encode(), digest_size=4).digest()
                vector[int.from_bytes(digest, "little") % TEXT_DIM] += 1.0
        return _normalised(vector)

    def describe_image(self, image: Image.Image) -> dict:
        return _image_features(image)

    def analyze(self, *, text: str, image_features: dict | None) -> dict:
        words = text.split()
        result = {
            "provider": self.name,
            "models": {"image": self.image_model, "text": self.text_model},
            "limitations": self.limitations,
            "text": {
                "word_count": len(words),
                "prices": sorted(set(m.group(0).strip() for m in _PRICE.finditer(text)))[:10],
                "discount_mentions": sorted(set(m.group(0).lower() for m in _DISCOUNT.finditer(text)))[:10],
                "call_to_action_mentions": sorted(set(m.group(0).lower() for m in _CTA.finditer(text)))[:10],
                "exclamations": text.count("!"),
                "uppercase_ratio": round(
                    sum(c.isupper() for c in text) / max(1, sum(c.isalpha() for c in text)), 3
                ),
            },
        }
        result["text"]["has_price"] = bool(result["text"]["prices"])
        result["text"]["has_discount"] = bool(result["text"]["discount_mentions"])
        result["text"]["has_call_to_action"] = bool(result["text"]["call_to_action_mentions"])
        if image_features:
            result["image"] = image_features
        return result


def _image_features(image: Image.Image) -> dict:
    rgb = ImageOps.exif_transpose(image).convert("RGB")
    small = rgb.copy()
    small.thumbnail((128, 128))
    palette = small.quantize(colors=5, method=Image.Quantize.MEDIANCUT)
    counts = sorted(palette.getcolors() or [], reverse=True)
    colours = palette.getpalette() or []
    total = sum(c for c, _ in counts) or 1
    dominant = [
        {"hex": "#{:02x}{:02x}{:02x}".format(*colours[i * 3 : i * 3 + 3]), "share": round(c / total, 3)}
        for c, i in counts
    ]
    grey = np.asarray(small.convert("L"), dtype=np.float32)
    edges = np.asarray(small.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32)
    return {
        "width": rgb.width,
        "height": rgb.height,
        "aspect_ratio": round(rgb.width / rgb.height, 3) if rgb.height else None,
        "dominant_colours": dominant,
        "brightness": round(float(grey.mean()) / 255, 3),
        "contrast": round(float(grey.std()) / 128, 3),
        # Share of strong edges: text and busy layouts score high. A proxy, not OCR.
        "text_density": round(float((edges > 64).mean()), 3),
    }


@cache
def _provider(name: str) -> Provider:
    if name == "local":
        return LocalProvider()
    raise ValueError(f"Unknown AI provider {name!r} (ADOLOGY_AI_PROVIDER); this build knows 'local'.")


def provider() -> Provider:
    return _provider(getattr(settings, "ADOLOGY_AI_PROVIDER", "local"))
