import assert from "node:assert/strict";
import type { Tensor, Tensor4D } from "@tensorflow/tfjs-core";
import { loadTf } from "../src/model/tf.ts";
import { prng } from "../fixtures/synthetic.ts";

/** Sparse values in [−1, 1], as port features are: about a third non-zero. */
function sparse(n: number, seed: number): Float32Array {
  const random = prng(seed);
  return Float32Array.from({ length: n }, () => (random() < 0.35 ? 2 * random() - 1 : 0));
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i]! - expected[i]!) < 1e-4,
      `${what}[${i}]: ${actual[i]} ≠ ${expected[i]}`,
    );
  }
}

/** Reference convolution, channels last, "same" padding, stride 1, with bias and ReLU or not. */
function conv(
  x: Float32Array,
  xs: number[],
  w: Float32Array,
  ws: number[],
  bias: Float32Array,
  relu = true,
) {
  const [b, h, wd, c] = xs as [number, number, number, number];
  const [fh, fw, , f] = ws as [number, number, number, number];
  const top = Math.floor((fh - 1) / 2), left = Math.floor((fw - 1) / 2);
  const out = new Float32Array(b * h * wd * f);
  for (let n = 0; n < b; n++) {
    for (let r = 0; r < h; r++) {
      for (let col = 0; col < wd; col++) {
        for (let k = 0; k < f; k++) {
          let sum = bias[k]!;
          for (let i = 0; i < fh; i++) {
            for (let j = 0; j < fw; j++) {
              const xr = r + i - top, xc = col + j - left;
              if (xr < 0 || xr >= h || xc < 0 || xc >= wd) continue;
              for (let d = 0; d < c; d++) {
                sum += x[((n * h + xr) * wd + xc) * c + d]! * w[((i * fw + j) * c + d) * f + k]!;
              }
            }
          }
          out[((n * h + r) * wd + col) * f + k] = relu ? Math.max(0, sum) : sum;
        }
      }
    }
  }
  return out;
}

Deno.test("the fast CPU kernels compute what the reference convolution, pooling and split do", async () => {
  const { core: tf } = await loadTf();
  const xShape = [2, 3, 17, 5], wShape = [1, 3, 5, 4];
  const xValues = sparse(2 * 3 * 17 * 5, 1),
    wValues = sparse(1 * 3 * 5 * 4, 2).map((v) => v || 0.5);
  const bValues = Float32Array.from([0.1, -0.2, 0.3, 0]);
  const x = tf.tensor4d(xValues, xShape as [number, number, number, number]);
  const w = tf.tensor4d(wValues, wShape as [number, number, number, number]);
  const bias = tf.tensor1d(bValues);
  try {
    // Forward (FusedConv2D with bias and ReLU; plain Conv2D).
    const fused = tf.fused.conv2d({
      x,
      filter: w,
      strides: 1,
      pad: "same",
      bias,
      activation: "relu",
    });
    close(fused.dataSync(), conv(xValues, xShape, wValues, wShape, bValues), "fused conv");
    const plain = tf.relu(tf.conv2d(x, w, 1, "same"));
    close(plain.dataSync(), conv(xValues, xShape, wValues, wShape, new Float32Array(4)), "conv");

    // Filter gradient against central differences of the (linear) reference.
    const upstream = sparse(2 * 3 * 17 * 4, 3);
    const loss = (kernel: Float32Array) =>
      conv(xValues, xShape, kernel, wShape, bValues, false).reduce(
        (a, v, i) => a + v * upstream[i]!,
        0,
      );
    const grad = tf.grad((k: Tensor) =>
      tf.sum(tf.mul(
        tf.fused.conv2d({
          x,
          filter: k as Tensor4D,
          strides: 1,
          pad: "same",
          bias,
        }),
        tf.tensor4d(upstream, [2, 3, 17, 4]),
      ))
    )(w).dataSync();
    const numeric = wValues.map((_, i) => {
      const up = wValues.slice(), down = wValues.slice();
      up[i]! += 1e-2;
      down[i]! -= 1e-2;
      return (loss(up) - loss(down)) / 2e-2;
    });
    for (let i = 0; i < numeric.length; i++) {
      assert.ok(
        Math.abs(grad[i]! - numeric[i]!) < 1e-3,
        `filter gradient [${i}]: ${grad[i]} ≠ ${numeric[i]}`,
      );
    }

    // Max pooling's gradient goes to the first maximum of each window.
    const pooled = tf.tensor4d([1, 3, 3, 2, 0, 0, 0, 0], [1, 1, 8, 1]);
    const poolGrad = tf.grad((t: Tensor) =>
      tf.sum(tf.maxPool(t as Tensor4D, [1, 4], [1, 4], "valid"))
    )(
      pooled,
    );
    assert.deepEqual([...poolGrad.dataSync()], [0, 1, 0, 0, 1, 0, 0, 0]);

    // SplitV along the last and a middle axis.
    const y = tf.tensor3d([...Array(24).keys()], [2, 3, 4]);
    const [a, b] = tf.split(y, [1, 3], 2);
    assert.deepEqual([...a!.dataSync()], [0, 4, 8, 12, 16, 20]);
    assert.deepEqual(b!.shape, [2, 3, 3]);
    assert.deepEqual([...b!.dataSync()].slice(0, 3), [1, 2, 3]);
    const [, mid] = tf.split(y, [2, 1], 1);
    assert.deepEqual([...mid!.dataSync()], [8, 9, 10, 11, 20, 21, 22, 23]);
    tf.dispose([fused, plain, pooled, poolGrad, y, a!, b!, mid!]);
  } finally {
    tf.dispose([x, w, bias]);
  }
});
