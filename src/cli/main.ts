import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { ConfigError } from '../config/load-config.ts';
import { readEnvironment, type Environment } from '../config/environment.ts';
import { Mesa } from '../app.ts';
import { createLogger } from '../log.ts';
import { EX } from './exit-codes.ts';
import { explainCommand, ingestCommand, quarantineListCommand, quarantineRetryCommand, templatesPreviewCommand, ticketsListCommand, ticketsShowCommand, type Io } from './commands.ts';

const io: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

function environment(): Environment {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return readEnvironment();
}

/** Runs a command and turns expected failures into clear messages and sysexits codes. */
async function run(fn: () => number | Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (err) {
    if (err instanceof ConfigError) { io.err(err.message); process.exitCode = EX.CONFIG; return; }
    io.err(`mesa: ${(err as Error).message}`);
    process.exitCode = EX.SOFTWARE;
  }
}

const program = new Command('mesa')
  .description('Mesa: la puerta de entrada de la Mesa de Ayuda (correo, teléfono y web → tickets clasificados con ETR)')
  .showHelpAfterError();

program.command('start').description('inicia el servicio (IMAP o carpeta local, despachador de salida, HTTP)').action(() => run(async () => {
  const log = createLogger();
  const mesa = Mesa.open(environment(), { log });
  await mesa.start();
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ event: 'mesa.stopping', signal }, 'deteniendo');
      mesa.stop().then(resolve, (err: Error) => { log.error({ event: 'mesa.stop_failed', error: err.message }); resolve(); });
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  return EX.OK;
}));

program.command('ingest').description('procesa un mensaje RFC 5322 leído de stdin (entrega por tubería del servidor de correo)')
  .option('--mailbox <id>', 'buzón al que llegó (por defecto: según los destinatarios)')
  .option('--json', 'resultado en JSON')
  .action((opts: { mailbox?: string; json?: boolean }) => run(async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return ingestCommand(environment(), Buffer.concat(chunks), opts, io, createLogger({ destination: process.stderr }));
  }));

program.command('explain').argument('<file>', 'archivo .eml').description('muestra qué decidiría Mesa con un mensaje, sin cambiar nada')
  .option('--mailbox <id>', 'buzón al que llegó').option('--json', 'salida JSON')
  .action((file: string, opts: { json?: boolean; mailbox?: string }) => run(() => {
    if (!existsSync(file)) { io.err(`mesa explain: no existe ${file}`); return EX.NOINPUT; }
    return explainCommand(environment(), file, opts, io);
  }));

const tickets = program.command('tickets').description('consulta tickets');
tickets.command('list').description('lista los tickets más recientes').option('--state <estado>').option('--limit <n>').option('--json')
  .action((opts: { json?: boolean; state?: string; limit?: string }) => run(() => ticketsListCommand(environment(), opts, io)));
tickets.command('show').argument('<key>', 'p. ej. MDA-000123').description('detalle, plazos, historial de ETR y eventos').option('--json')
  .action((key: string, opts: { json?: boolean }) => run(() => ticketsShowCommand(environment(), key, opts, io)));

const quarantine = program.command('quarantine').description('mensajes que no se pudieron procesar');
quarantine.command('list').option('--all', 'incluye los ya resueltos').option('--json')
  .action((opts: { json?: boolean; all?: boolean }) => run(() => quarantineListCommand(environment(), opts, io)));
quarantine.command('retry').argument('<id>').description('vuelve a procesar un mensaje en cuarentena').option('--json')
  .action((id: string, opts: { json?: boolean }) => run(() => quarantineRetryCommand(environment(), id, opts, io, createLogger({ destination: process.stderr }))));

const templates = program.command('templates').description('plantillas de mensajes');
templates.command('preview').argument('<moment>', 'p. ej. ack, customer-update, level-escalation').description('muestra un mensaje renderizado para un ticket')
  .requiredOption('--ticket <key>', 'ticket cuyos datos se usan').option('--locale <locale>', 'es-MX o en').option('--part <part>', 'subject, text, html, sms o all')
  .action((moment: string, opts: { ticket: string; locale?: string; part?: string }) => run(() => templatesPreviewCommand(environment(), moment, opts, io)));

await program.parseAsync(process.argv);
