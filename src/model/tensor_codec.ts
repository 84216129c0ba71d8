/**
 * Named float32 tensors as bytes: their values one after another, little-endian, in the order
 * given. The weights blob in the database and the model file exchanged between hosts both hold
 * their tensors this way.
 *
 * @module
 */

/** A named float32 tensor. */
export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Values a tensor of `shape` holds. */
export function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes {@linkcode writeTensors} takes for `tensors`; `RangeError` if one's values do not fit its shape. */
export function tensorBytes(tensors: readonly NamedTensor[]): number {
  let floats = 0;
  for (const t of tensors) {
    if (t.values.length !== tensorSize(t.shape)) {
      throw new RangeError(
        `Tensor "${t.name}" has ${t.values.length} values for shape [${t.shape}]`,
      );
    }
    floats += t.values.length;
  }
  return 4 * floats;
}

/** Writes the tensors' values from byte `at` of `view`; returns the offset after them. */
export function writeTensors(view: DataView, at: number, tensors: readonly NamedTensor[]): number {
  for (const t of tensors) {
    for (const v of t.values) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return at;
}

/**
 * Reads tensors of the given names and shapes from byte `at` of `view`, up to byte `end`;
 * throws `RangeError` naming the tensor that does not fit.
 */
export function readTensors(
  view: DataView,
  at: number,
  end: number,
  specs: readonly { name: string; shape: number[] }[],
): { tensors: NamedTensor[]; end: number } {
  const tensors = specs.map((spec): NamedTensor => {
    const values = new Float32Array(tensorSize(spec.shape));
    if (at + 4 * values.length > end) throw new RangeError(`tensor "${spec.name}" is cut short`);
    for (let i = 0; i < values.length; i++) values[i] = view.getFloat32(at + 4 * i, true);
    at += 4 * values.length;
    return { name: spec.name, shape: spec.shape, values };
  });
  return { tensors, end: at };
}
