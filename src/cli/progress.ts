import cliProgress from 'cli-progress';

export interface Progress {
  /** One more item done. */
  tick(): void;
  /** Ends the bar (or prints the last count line). */
  stop(): void;
}

/**
 * Progress of a long command on stderr (stdout keeps the results, for pipes and `--json`): a
 * bar when stderr is a terminal, otherwise a plain `label: n/total` line at each tenth and at
 * the end, so a log file shows the command moving without a line per item.
 */
export function startProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  let done = 0;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream, format: `${label} [{bar}] {value}/{total} ({percentage} %) · quedan {eta_formatted}`,
      barCompleteChar: '█', barIncompleteChar: '░', hideCursor: true, clearOnComplete: false, etaBuffer: 20,
    });
    bar.start(total, 0);
    return {
      tick: () => bar.increment(),
      stop: () => bar.stop(),
    };
  }
  const step = Math.max(1, Math.ceil(total / 10));
  let printed = -1;
  const print = (): void => {
    if (printed === done) return;
    printed = done;
    stream.write(`${label}: ${done}/${total}\n`);
  };
  return {
    tick: () => {
      done++;
      if (done % step === 0 && done < total) print();
    },
    stop: () => print(),
  };
}
