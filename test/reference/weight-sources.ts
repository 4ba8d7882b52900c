// Where the reference forward pass gets its float32 weights from. The default is our own small
// GGUF reader (independent of the native addon under test); it reads F32/F16/BF16 tensors only.
import { readGgufFloat } from './gguf-float-reader';
import type { WeightSource } from './qwen2-reference';

export function weightsFromFloatGguf(path: string): WeightSource {
  const file = readGgufFloat(path);
  return {
    metadata: file.metadata,
    has: (name) => file.tensors.has(name),
    tensor: (name) => file.tensorF32(name),
  };
}
