/**
 * Faster CPU kernels for the operations the model spends its time in.
 *
 * TensorFlow.js's pure-JS `cpu` backend computes some kernels with generic
 * `TensorBuffer.get(...)` indexing. Measured here on one batch of 16 windows × 10 rounds × 256
 * bins × 14 channels: the convolution's filter gradient took 2.1 s (95% of a training step), the
 * pooling gradient 85 ms, the convolution itself 23 ms, and `SplitV` (the LSTM's gates, the
 * gradient of joining the globals) slices element by element. The versions below compute the
 * same values with flat indices; the convolutions skip the input's zeros (ports are sparse).
 * They cover the channels-last, undilated float32 cases the model uses and hand anything else
 * to the original kernel. Registered once, when TensorFlow.js is loaded, for the `cpu` backend
 * only.
 *
 * @module
 */

import type * as TfCore from "@tensorflow/tfjs-core";

type Core = typeof TfCore;

/** The parts of the CPU backend the kernels touch. */
interface CpuBackend {
  data: { get(dataId: TfCore.DataId): { values: TfCore.backend_util.BackendValues } };
  makeTensorInfo(
    shape: number[],
    dtype: TfCore.DataType,
    values: TfCore.backend_util.BackendValues,
  ): TfCore.TensorInfo;
}

interface KernelArgs {
  inputs: TfCore.NamedTensorInfoMap;
  backend: unknown;
  attrs?: TfCore.NamedAttrMap;
}

type Kernel = (args: KernelArgs) => TfCore.TensorInfo | TfCore.TensorInfo[];

let registered = false;

/**
 * Replaces the CPU backend's `Conv2D`, `FusedConv2D`, `Conv2DBackpropFilter`, `MaxPoolGrad` and
 * `SplitV` (once per process).
 */
export function registerFastKernels(core: Core): void {
  if (registered) return;
  registered = true;
  replace(core, "Conv2DBackpropFilter", (original) => (args) => {
    const { x, dy } = args.inputs as { x: TfCore.TensorInfo; dy: TfCore.TensorInfo };
    const attrs = args.attrs as unknown as TfCore.Conv2DBackpropFilterAttrs;
    const info = core.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      core.backend_util.convertConv2DDataFormat(attrs.dataFormat),
    );
    if (info.dataFormat !== "channelsLast" || x.dtype !== "float32") return original(args);
    const backend = args.backend as CpuBackend;
    const xs = backend.data.get(x.dataId).values as Float32Array;
    const dys = backend.data.get(dy.dataId).values as Float32Array;
    const {
      batchSize,
      inHeight,
      inWidth,
      inChannels,
      outHeight,
      outWidth,
      outChannels,
      filterHeight,
      filterWidth,
      strideHeight,
      strideWidth,
    } = info;
    const top = info.padInfo.top, left = info.padInfo.left;
    const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
    for (let b = 0; b < batchSize; b++) {
      for (let yr = 0; yr < outHeight; yr++) {
        for (let yc = 0; yc < outWidth; yc++) {
          const dyAt = ((b * outHeight + yr) * outWidth + yc) * outChannels;
          for (let wr = 0; wr < filterHeight; wr++) {
            const xr = yr * strideHeight + wr - top;
            if (xr < 0 || xr >= inHeight) continue;
            for (let wc = 0; wc < filterWidth; wc++) {
              const xc = yc * strideWidth + wc - left;
              if (xc < 0 || xc >= inWidth) continue;
              const xAt = ((b * inHeight + xr) * inWidth + xc) * inChannels;
              const wAt = (wr * filterWidth + wc) * inChannels * outChannels;
              for (let d1 = 0; d1 < inChannels; d1++) {
                const v = xs[xAt + d1]!;
                if (v === 0) continue;
                const row = wAt + d1 * outChannels;
                for (let d2 = 0; d2 < outChannels; d2++) {
                  dw[row + d2] = dw[row + d2]! + v * dys[dyAt + d2]!;
                }
              }
            }
          }
        }
      }
    }
    return backend.makeTensorInfo(attrs.filterShape, "float32", Float32Array.from(dw));
  });

  replace(core, "MaxPoolGrad", (original) => (args) => {
    const { dy, input } = args.inputs as { dy: TfCore.TensorInfo; input: TfCore.TensorInfo };
    const attrs = args.attrs as unknown as TfCore.MaxPoolGradAttrs;
    const info = core.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    if (input.dtype !== "float32") return original(args);
    const backend = args.backend as CpuBackend;
    const xs = backend.data.get(input.dataId).values as Float32Array;
    const dys = backend.data.get(dy.dataId).values as Float32Array;
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
    const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
    const top = info.padInfo.top, left = info.padInfo.left;
    const dx = new Float32Array(xs.length);
    for (let b = 0; b < batchSize; b++) {
      for (let yr = 0; yr < outHeight; yr++) {
        for (let yc = 0; yc < outWidth; yc++) {
          for (let d = 0; d < inChannels; d++) {
            // The first maximum in scan order, as the original kernel's maxPoolPositions picks.
            let best = -Infinity, bestAt = -1;
            for (let wr = 0; wr < filterHeight; wr++) {
              const xr = yr * strideHeight + wr - top;
              if (xr < 0 || xr >= inHeight) continue;
              for (let wc = 0; wc < filterWidth; wc++) {
                const xc = yc * strideWidth + wc - left;
                if (xc < 0 || xc >= inWidth) continue;
                const at = ((b * inHeight + xr) * inWidth + xc) * inChannels + d;
                if (xs[at]! > best) {
                  best = xs[at]!;
                  bestAt = at;
                }
              }
            }
            if (bestAt >= 0) {
              dx[bestAt] = dx[bestAt]! +
                dys[((b * outHeight + yr) * outWidth + yc) * inChannels + d]!;
            }
          }
        }
      }
    }
    return backend.makeTensorInfo(input.shape, "float32", dx);
  });

  replace(core, "Conv2D", (original) => (args) => {
    const { x, filter } = args.inputs as { x: TfCore.TensorInfo; filter: TfCore.TensorInfo };
    const attrs = args.attrs as unknown as TfCore.Conv2DAttrs;
    const out = convolve(core, args.backend as CpuBackend, x, filter, attrs, null, false);
    return out ?? original(args);
  });

  replace(core, "FusedConv2D", (original) => (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: TfCore.TensorInfo;
      filter: TfCore.TensorInfo;
      bias?: TfCore.TensorInfo;
      preluActivationWeights?: TfCore.TensorInfo;
    };
    const attrs = args.attrs as unknown as TfCore.FusedConv2DAttrs;
    const activation = attrs.activation ?? "linear";
    if (preluActivationWeights || (activation !== "linear" && activation !== "relu")) {
      return original(args);
    }
    const out = convolve(
      core,
      args.backend as CpuBackend,
      x,
      filter,
      attrs,
      bias ?? null,
      activation === "relu",
    );
    return out ?? original(args);
  });

  replace(core, "SplitV", (original) => (args) => {
    const { x } = args.inputs as { x: TfCore.TensorInfo };
    const attrs = args.attrs as unknown as TfCore.SplitVAttrs;
    const backend = args.backend as CpuBackend;
    const values = backend.data.get(x.dataId).values;
    if (!(values instanceof Float32Array || values instanceof Int32Array)) return original(args);
    const axis = core.util.parseAxisParam(attrs.axis, x.shape)[0]!;
    const sizes = core.backend_util.prepareSplitSize(
      x as unknown as TfCore.Tensor,
      attrs.numOrSizeSplits,
      axis,
    );
    const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    const inner = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const row = x.shape[axis]! * inner;
    let begin = 0;
    return sizes.map((size) => {
      const part = values instanceof Float32Array
        ? new Float32Array(outer * size * inner)
        : new Int32Array(outer * size * inner);
      const run = size * inner;
      for (let o = 0; o < outer; o++) {
        part.set(values.subarray(o * row + begin * inner, o * row + begin * inner + run), o * run);
      }
      begin += size;
      const shape = [...x.shape];
      shape[axis] = size;
      return backend.makeTensorInfo(shape, x.dtype, part);
    });
  });
}

/**
 * A channels-last, undilated 2D convolution (plus bias and ReLU when asked), scattering each
 * non-zero input value into the outputs it reaches; `null` for cases it does not cover.
 */
function convolve(
  core: Core,
  backend: CpuBackend,
  x: TfCore.TensorInfo,
  filter: TfCore.TensorInfo,
  attrs: TfCore.Conv2DAttrs,
  bias: TfCore.TensorInfo | null,
  relu: boolean,
): TfCore.TensorInfo | null {
  if (x.dtype !== "float32" || filter.dtype !== "float32") return null;
  const dilations = attrs.dilations ?? 1;
  if (dilations !== 1 && !(Array.isArray(dilations) && dilations.every((d) => d === 1))) {
    return null;
  }
  const info = core.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    core.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  if (info.dataFormat !== "channelsLast") return null;
  const biases = bias ? backend.data.get(bias.dataId).values as Float32Array : null;
  if (biases && biases.length !== 1 && biases.length !== info.outChannels) return null;
  const xs = backend.data.get(x.dataId).values as Float32Array;
  const ws = backend.data.get(filter.dataId).values as Float32Array;
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = info;
  const top = info.padInfo.top, left = info.padInfo.left;
  const out = new Float32Array(batchSize * outHeight * outWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let xr = 0; xr < inHeight; xr++) {
      for (let xc = 0; xc < inWidth; xc++) {
        const xAt = ((b * inHeight + xr) * inWidth + xc) * inChannels;
        for (let d1 = 0; d1 < inChannels; d1++) {
          const v = xs[xAt + d1]!;
          if (v === 0) continue;
          for (let wr = 0; wr < filterHeight; wr++) {
            const yrs = xr + top - wr;
            if (yrs < 0 || yrs % strideHeight !== 0) continue;
            const yr = yrs / strideHeight;
            if (yr >= outHeight) continue;
            for (let wc = 0; wc < filterWidth; wc++) {
              const ycs = xc + left - wc;
              if (ycs < 0 || ycs % strideWidth !== 0) continue;
              const yc = ycs / strideWidth;
              if (yc >= outWidth) continue;
              const yAt = ((b * outHeight + yr) * outWidth + yc) * outChannels;
              const wAt = ((wr * filterWidth + wc) * inChannels + d1) * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) {
                out[yAt + d2] = out[yAt + d2]! + v * ws[wAt + d2]!;
              }
            }
          }
        }
      }
    }
  }
  if (biases || relu) {
    for (let i = 0; i < out.length; i++) {
      let v = out[i]!;
      if (biases) v += biases.length === 1 ? biases[0]! : biases[i % outChannels]!;
      out[i] = relu && v < 0 ? 0 : v;
    }
  }
  return backend.makeTensorInfo(info.outShape, "float32", out);
}

function replace(
  core: Core,
  kernelName: string,
  make: (original: Kernel) => Kernel,
): void {
  const config = core.getKernel(kernelName, "cpu");
  if (!config) return;
  const original = config.kernelFunc as unknown as Kernel;
  core.unregisterKernel(kernelName, "cpu");
  core.registerKernel({
    kernelName,
    backendName: "cpu",
    kernelFunc: make(original) as unknown as TfCore.KernelFunc,
  });
}
