import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type AttrValue = number | number[] | string;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const INT8 = onnx.TensorProto.DataType.INT8;

/**
 * A small helper for writing ONNX graphs in code: named initializers, nodes with attributes, typed inputs and outputs,
 * encoded to the bytes onnxruntime loads. Used by the generated test and benchmark packs and the offline pack.
 */
export class GraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  /** A fresh intermediate value name. */
  tmp(hint = 't'): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, type: 'float' | 'int64', dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, type === 'float' ? FLOAT : INT64, dims));
    return name;
  }

  output(name: string, type: 'float' | 'int64', dims: (number | string)[]): string {
    this.outputs.push(valueInfo(name, type === 'float' ? FLOAT : INT64, dims));
    return name;
  }

  floats(name: string, dims: number[], data: Float32Array | number[]): string {
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: FLOAT,
        rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      }),
    );
    return name;
  }

  int8s(name: string, dims: number[], data: Int8Array): string {
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: INT8,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  ints(name: string, dims: number[], data: number[]): string {
    const values = BigInt64Array.from(data.map((v) => BigInt(v)));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims,
        dataType: INT64,
        rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
      }),
    );
    return name;
  }

  /** Adds a node and returns its first output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[]): string {
    const outs = outputs ?? [this.tmp(opType.toLowerCase())];
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        input: inputs,
        output: outs,
        name: `${opType}_${this.nodes.length}`,
        attribute: Object.entries(attrs).map(([name, value]) => attribute(name, value)),
      }),
    );
    return outs[0]!;
  }

  encode(name: string, opset = 17): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'mnemo',
      opsetImport: [{ domain: '', version: opset }],
      graph: onnx.GraphProto.create({
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

function attribute(name: string, value: AttrValue) {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: Buffer.from(value) });
  if (Array.isArray(value)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: value });
  if (Number.isInteger(value) && !Object.is(value, -0))
    return onnx.AttributeProto.create({ name, type: T.INT, i: value });
  return onnx.AttributeProto.create({ name, type: T.FLOAT, f: value });
}

/** A seeded PRNG (mulberry32) with a normal sampler: the same seed always gives the same weights. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Normally distributed values (Box-Muller), scaled by `std`. */
  normals(n: number, std: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(this.next(), 1e-12);
      const v = this.next();
      const r = Math.sqrt(-2 * Math.log(u)) * std;
      out[i] = r * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }
}
